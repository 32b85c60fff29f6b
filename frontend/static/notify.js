// Live notices on /notifications: new ones appear at the top without reloading.
(function () {
  var list = document.getElementById("notices");
  var count = document.getElementById("unread");
  if (!list || !window.EventSource) return;
  var source = new EventSource("/api/v1/notifications/stream");
  source.addEventListener("unread", function (e) {
    if (count) count.textContent = e.data;
  });
  source.addEventListener("notification", function (e) {
    var n = JSON.parse(e.data);
    var empty = document.getElementById("no-notices");
    if (empty) empty.remove();
    var item = document.createElement("li");
    item.className = "notice unread";
    var title = document.createElement("strong");
    title.textContent = n.title;
    var body = document.createElement("p");
    body.textContent = n.body;
    item.appendChild(title);
    item.appendChild(body);
    list.insertBefore(item, list.firstChild);
  });
})();
