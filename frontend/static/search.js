// Suggestions while a buyer types in the search box: the titles of the first matches, offered
// through the input's datalist. Pinyin, initials and synonyms work as in the search itself.
(function () {
  var input = document.querySelector('input[name=q][list]');
  if (!input || !window.fetch) return;
  var list = document.getElementById(input.getAttribute('list'));
  var timer = null;
  var asked = '';
  input.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var q = input.value.trim();
      if (!q || q === asked) return;
      asked = q;
      fetch('/api/v1/search?per_page=6&q=' + encodeURIComponent(q))
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (page) {
          if (!page || q !== input.value.trim()) return;
          list.textContent = '';
          page.items.forEach(function (hit) {
            var option = document.createElement('option');
            option.value = hit.title;
            list.appendChild(option);
          });
        })
        .catch(function () {});
    }, 200);
  });
})();

// Sorting by distance asks the phone where it is, once, and sends it along.
(function () {
  var sort = document.getElementById('sort');
  var near = document.getElementById('near');
  if (!sort || !near || !navigator.geolocation) return;
  sort.addEventListener('change', function () {
    if (sort.value !== 'distance' || near.value) return;
    navigator.geolocation.getCurrentPosition(function (p) {
      near.value = p.coords.latitude.toFixed(4) + ',' + p.coords.longitude.toFixed(4);
      sort.form.submit();
    }, function () {}, { timeout: 8000, maximumAge: 600000 });
  });
})();
