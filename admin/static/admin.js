// The one script of the admin UI. Everything works without it; it adds the live preview of
// the app form. (The demo page's widget is /api.js, the one every site loads.) Loaded from this server only: the Content-Security-Policy allows no inline code.
(function () {
  'use strict';

  var previewFields = ['charset', 'length', 'difficulty', 'width', 'height', 'lang'];

  function setupPreview(form) {
    var img = document.getElementById('preview-image');
    var audio = document.getElementById('preview-audio');
    var status = document.getElementById('preview-status');
    var shown = []; // the field errors the preview put up, to take down on success
    var timer = null;
    var n = 0;

    function query() {
      var q = new URLSearchParams();
      previewFields.forEach(function (name) {
        // Not form.elements[name]: form.elements.length is the number of fields.
        var el = form.querySelector('[name="' + name + '"]');
        if (el) { q.set(name, el.value); }
      });
      q.set('n', String(++n)); // a new drawing every time, never the browser's cached one
      return q.toString();
    }
    function clearErrors() {
      shown.forEach(function (el) { el.textContent = ''; });
      shown = [];
      status.textContent = '';
    }
    function refresh() {
      var q = query();
      img.src = '/admin/preview/image?' + q;
      audio.src = '/admin/preview/audio?' + q; // preload="none": fetched only when played
    }
    img.addEventListener('load', clearErrors);
    img.addEventListener('error', function () {
      // The image failed: ask the same URL for the reason, which comes as JSON.
      fetch(img.src, { credentials: 'same-origin' }).then(function (r) {
        return r.json();
      }).then(function (e) {
        clearErrors();
        var el = document.getElementById('err-' + e.field);
        if (el) { el.textContent = e.message; shown.push(el); }
        status.textContent = e.message;
      }).catch(function () {
        status.textContent = status.dataset.failed || '';
      });
    });
    form.addEventListener('input', function (ev) {
      if (previewFields.indexOf(ev.target.name) < 0) { return; }
      clearTimeout(timer);
      timer = setTimeout(refresh, 350);
    });
    document.getElementById('preview-redraw').addEventListener('click', refresh);
    document.getElementById('preview-play').addEventListener('click', function () {
      audio.currentTime = 0;
      var played = audio.play();
      if (played && played.catch) {
        played.catch(function () { status.textContent = status.dataset.failed || ''; });
      }
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    var form = document.getElementById('app-form');
    if (form && document.getElementById('preview-image')) { setupPreview(form); }
  });
}());
