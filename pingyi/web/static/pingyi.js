// The pages' only script (the Content-Security-Policy allows no inline script): a form or a
// button with data-confirm="…" asks before it is sent (deleting, clearing, revoking, publishing).
document.addEventListener("submit", (event) => {
  const question = (event.submitter && event.submitter.dataset.confirm) || event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});
