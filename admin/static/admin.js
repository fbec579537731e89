// The one script of the admin UI and the demo page. Everything works without it; it adds
// the live preview of the app form, the demo's sound button, and new demo challenges without
// a reload. Loaded from this server only: the Content-Security-Policy allows no inline code.
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

  function setupDemo() {
    var image = document.getElementById('demo-image');
    var sound = document.getElementById('demo-sound');
    var key = document.getElementById('demo-key');
    var answer = document.getElementById('demo-answer');
    var status = document.getElementById('demo-status');
    document.getElementById('demo-play').addEventListener('click', function () {
      sound.currentTime = 0;
      var played = sound.play();
      if (played && played.catch) {
        played.catch(function () { status.textContent = status.dataset.failed || ''; });
      }
    });
    document.getElementById('demo-new').addEventListener('click', function (ev) {
      ev.preventDefault();
      fetch('/demo/challenge', { headers: { Accept: 'application/json' } }).then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) { throw new Error(body.error || ''); }
          return body;
        });
      }).then(function (c) {
        image.src = c.image;
        sound.src = c.sound;
        key.value = c.key;
        answer.value = '';
        status.textContent = '';
        var verdict = document.getElementById('verdict');
        if (verdict) { verdict.remove(); }
        answer.focus();
      }).catch(function (e) {
        status.textContent = e.message || status.dataset.network || '';
      });
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    var form = document.getElementById('app-form');
    if (form && document.getElementById('preview-image')) { setupPreview(form); }
    if (document.getElementById('demo-key')) { setupDemo(); }
  });
}());
