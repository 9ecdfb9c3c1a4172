// Shows each time in the reader's own time zone (the UTC time stays in its
// title), and tells date filters which zone their days are in.
"use strict";
(function () {
  var format = new Intl.DateTimeFormat(undefined, {
    dateStyle: "medium",
    timeStyle: "short",
  });
  document.querySelectorAll("time[datetime]").forEach(function (element) {
    var moment = new Date(element.getAttribute("datetime"));
    if (!isNaN(moment.getTime())) {
      element.textContent = format.format(moment);
    }
  });
  // A form that asks first: releasing a number holds its messages.
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  document.querySelectorAll("input[data-time-zone]").forEach(function (input) {
    if (!input.value && zone) {
      input.value = zone;
    }
  });
})();
