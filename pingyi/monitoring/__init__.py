"""What operators watch: ``health`` (is each part of the service up: the database, Redis, the
queues, the RQ scheduler) and ``metrics`` (Prometheus: requests, ballots accepted, job
durations, queue depth, live-tally lag). Plain functions and metric objects; the endpoints
are ``pingyi.web.ops``. Nothing here names a tenant, a campaign or a link: figures are summed
over the whole service."""
