"""All ORM models; importing this module registers every table with the metadata."""

from .accounts import ROLES, ApiKey, LoginSession, Membership, Tenant, User
from .audit import AuditEvent
from .ballots import (
    Answer,
    Ballot,
    BallotToken,
    BoxedBallot,
    Comment,
    InterviewSample,
    Job,
    JobFile,
    PaperEntry,
)
from .base import ID_RANGE, INTEGER_RANGE, TenantMixin, utcnow
from .campaigns import (
    MEETING_KINDS,
    PHASES,
    PUBLICATION_SCOPES,
    PUBLISHED_STATES,
    SCOPES,
    STATE_LABELS,
    STATES,
    Campaign,
    CampaignPhase,
    EvaluatorCategory,
    Meeting,
    Rule,
    Subject,
)
from .decisions import DECISION_KINDS, SubjectDecision
from .feedback import FeedbackEntry
from .forms import ITEM_KINDS, SUBJECT_KINDS, Form, FormItem, FormSection, Scale, ScaleChoice
from .org import UNIT_KINDS, Person, Unit
from .rectification import (
    RECTIFICATION_SOURCES,
    RECTIFICATION_STATES,
    RectificationEvent,
    RectificationFile,
    RectificationItem,
)
from .seasons import FIXABLE, SEASON_STATES, SUBMISSION_STATES, Notice, Season, SeasonIssue, SeasonSubmission
from .tallies import TallyBallots, TallyCount, TallyInbox, TallyItem, TallyRun, TallySubject, TallyUnit
from .themes import ThemeCount, ThemeRule, ThemeRun
from .verification import CountedReceipt, SealLeaf

__all__ = [
    "CountedReceipt", "SealLeaf",
    "DECISION_KINDS", "SubjectDecision",
    "MEETING_KINDS", "PHASES", "CampaignPhase", "Meeting",
    "TallyBallots", "TallyCount", "TallyInbox", "TallyItem", "TallyRun", "TallySubject", "TallyUnit", "Answer", "Ballot", "BoxedBallot", "Comment", "InterviewSample", "Job", "JobFile", "PaperEntry",
    "ID_RANGE", "INTEGER_RANGE", "ITEM_KINDS", "PUBLICATION_SCOPES", "PUBLISHED_STATES", "ROLES", "SCOPES", "STATES", "STATE_LABELS", "SUBJECT_KINDS",
    "UNIT_KINDS", "ApiKey", "LoginSession", "AuditEvent", "BallotToken", "Campaign", "EvaluatorCategory", "Form", "FormItem",
    "FormSection", "Membership", "Person", "Rule", "Scale", "ScaleChoice", "Subject", "Tenant", "TenantMixin",
    "Unit", "User", "utcnow",
    "FeedbackEntry",
    "FIXABLE", "SEASON_STATES", "SUBMISSION_STATES", "Notice", "Season", "SeasonIssue", "SeasonSubmission",
    "ThemeCount", "ThemeRule", "ThemeRun",
    "RECTIFICATION_SOURCES", "RECTIFICATION_STATES", "RectificationEvent", "RectificationFile", "RectificationItem",
]
