/* The ballot page on a phone: live progress ("已完成 x / y", per subject in the index), a button
   to the next unanswered item, and a check before submitting that jumps to the first unanswered
   item instead. Only enhances: the page works without it and the server checks every ballot.
   No inline script (the Content-Security-Policy allows scripts from this site only). */
(function () {
  "use strict";
  var form = document.querySelector("form.ballot");
  var bar = document.getElementById("progress");
  if (!form || !bar) { return; }
  var count = bar.querySelector(".count");
  var meter = bar.querySelector("progress");
  var next = bar.querySelector("button.next");
  var subjects = Array.prototype.slice.call(form.querySelectorAll("section.subject"));

  function answered(el) {
    if (el.tagName === "FIELDSET") { return el.querySelector("input:checked") !== null; }
    var text = el.querySelector("textarea");
    return text !== null && text.value.trim() !== "";
  }

  function unanswered() {
    return Array.prototype.filter.call(form.querySelectorAll(".req"), function (el) { return !answered(el); });
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (m, key) { return key in values ? values[key] : m; });
  }

  function update() {
    var done = 0, total = 0;
    subjects.forEach(function (s) {
      var items = s.querySelectorAll(".req"), n = 0;
      for (var i = 0; i < items.length; i++) { if (answered(items[i])) { n++; } }
      done += n; total += items.length;
      var link = document.getElementById("i" + s.id.slice(1));
      if (link) {
        link.querySelector("b").textContent = n + "/" + items.length;
        link.classList.toggle("done", n === items.length);
        if (n === items.length) { link.classList.remove("todo"); }
      }
    });
    count.textContent = fill(bar.getAttribute("data-done"), {done: done, total: total});
    meter.max = total || 1;
    meter.value = done;
    meter.hidden = false;
    next.hidden = done === total;
    bar.classList.toggle("complete", done === total);
    bar.classList.remove("warn");
  }

  function announce(text) {
    // as the server's refused page says it (announced by screen readers; above the index)
    var box = document.getElementById("missing");
    if (!box) {
      box = document.createElement("div");
      box.id = "missing";
      box.className = "alert";
      box.setAttribute("role", "alert");
      bar.parentNode.insertBefore(box, bar);
    }
    box.textContent = text;
  }

  function jump(el) {
    var target = el.querySelector("legend") || el.querySelector("textarea") || el;
    if (!target.hasAttribute("tabindex") && target.tagName !== "TEXTAREA") { target.setAttribute("tabindex", "-1"); }
    target.classList.add("jumped");
    el.scrollIntoView({block: "start"});
    target.focus({preventScroll: true});
  }

  form.addEventListener("change", function (e) {
    var item = e.target.closest(".req");
    if (item && answered(item)) { item.classList.remove("bad"); }
    update();
  });
  form.addEventListener("input", function (e) { if (e.target.tagName === "TEXTAREA") { update(); } });
  form.addEventListener("submit", function (e) {
    var left = unanswered();
    if (!left.length) { return; }
    e.preventDefault();
    left.forEach(function (el) { el.classList.add("bad"); });
    count.textContent = fill(bar.getAttribute("data-left"), {n: left.length});
    announce(fill(bar.getAttribute("data-alert"), {n: left.length}));
    bar.classList.add("warn");
    jump(left[0]);
  });
  next.addEventListener("click", function () {
    var left = unanswered();
    if (left.length) { jump(left[0]); }
  });
  window.addEventListener("pageshow", update);  // a page from the back/forward cache keeps its choices
  update();
  // refused by the server: the form's action (#first-missing) already brought the browser there
  var first = document.getElementById("first-missing");
  if (first && location.hash === "#first-missing" && document.activeElement !== first) {
    first.focus({preventScroll: true});
  }
}());
