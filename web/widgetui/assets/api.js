/*
 * The CAPTCHA widget: a site adds <script src="…/api.js" async defer> from the CAPTCHA server and a
 * <div class="captcha" data-sitekey="…"> inside its form; this script draws a warped-text
 * challenge with a spoken alternative there, and on a right answer puts a response token in
 * a hidden field of the form for the site's server to check with POST /siteverify.
 *
 * It is written for pages with a strict Content-Security-Policy that allows the CAPTCHA's
 * origin alone: no inline script or style, no eval, no workers. Its look is widget.css,
 * linked from the same origin; its state is classes and attributes, never style attributes.
 * No third-party code, no build step: this file is what browsers run.
 */
(() => {
  "use strict";

  const me = document.currentScript;
  if (!me || !me.src) return;
  const src = new URL(me.src);
  const origin = src.origin;
  const query = src.searchParams;
  const compat = query.get("compat") === "recaptcha";
  if (window.captcha && window.captcha._widget) return; // loaded twice: the first copy serves the page

  // How long before a token expires the widget says so, in seconds: time to send the form.
  const warnBefore = 30;

  const text = {
    en: {
      title: "Security check",
      alt: "Distorted characters to type. If you cannot read them, use the sound button.",
      play: "Play the characters as sound",
      stop: "Stop the sound",
      answer: "Type the characters you see or hear",
      hint: (n) => n + " characters",
      check: "Check",
      fresh: "New challenge",
      loading: "Loading a challenge…",
      loaded: "New challenge loaded.",
      empty: "Type the characters first.",
      wrong: "That was not right. Here is a new challenge.",
      expired: "The challenge expired. Here is a new one.",
      solved: "Verified. You can go on.",
      expiring: (s) => "The verification expires in " + s + " seconds. Submit the form soon.",
      tokenExpired: "The verification expired. Solve the new challenge.",
      error: "The CAPTCHA server could not be reached. Try a new challenge.",
      limited: "Too many requests. Wait a moment, then try a new challenge.",
      setup: "This site's CAPTCHA is not set up correctly.",
      playFailed: "The sound could not be played.",
    },
    ko: {
      title: "보안 확인",
      alt: "입력할 문자가 그려진 그림. 읽기 어려우면 소리 듣기 버튼을 누르세요.",
      play: "문자를 소리로 듣기",
      stop: "소리 멈추기",
      answer: "보이거나 들리는 문자를 입력하세요",
      hint: (n) => n + "자",
      check: "확인",
      fresh: "새 문제",
      loading: "문제를 불러오는 중…",
      loaded: "새 문제를 불러왔습니다.",
      empty: "먼저 문자를 입력하세요.",
      wrong: "틀렸습니다. 새 문제를 풀어 주세요.",
      expired: "문제의 시간이 지났습니다. 새 문제를 풀어 주세요.",
      solved: "확인되었습니다. 계속 진행하세요.",
      expiring: (s) => "확인이 " + s + "초 후 만료됩니다. 곧 양식을 제출하세요.",
      tokenExpired: "확인이 만료되었습니다. 새 문제를 풀어 주세요.",
      error: "보안 문자 서버에 연결하지 못했습니다. 새 문제를 눌러 다시 시도하세요.",
      limited: "요청이 너무 많습니다. 잠시 뒤 새 문제를 누르세요.",
      setup: "이 사이트의 보안 문자 설정이 올바르지 않습니다.",
      playFailed: "소리를 재생하지 못했습니다.",
    },
  };

  // The language: the widget's data-lang, else ?hl=, else the page's, else the browser's.
  const langOf = (wanted) => {
    for (const l of [wanted, query.get("hl"), document.documentElement.lang, navigator.language]) {
      if (l) return /^ko\b/i.test(l) ? "ko" : "en";
    }
    return "en";
  };

  // A global function given by name (data-callback="onSolved") or a function.
  const fn = (f) => (typeof f === "function" ? f : typeof f === "string" && typeof window[f] === "function" ? window[f] : null);

  const call = (f, ...args) => {
    f = fn(f);
    if (!f) return;
    try {
      f(...args);
    } catch (e) {
      setTimeout(() => {
        throw e; // the page's error, reported as its own, without stopping the widget
      });
    }
  };

  let stylesheet = null;
  const linkStyles = () => {
    if (stylesheet) return stylesheet;
    stylesheet = new Promise((done) => {
      const link = document.createElement("link");
      link.rel = "stylesheet";
      link.href = origin + "/widget/ui/widget.css";
      link.onload = link.onerror = done;
      document.head.appendChild(link);
    });
    return stylesheet;
  };

  const el = (tag, cls, attrs) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    return e;
  };

  const icon = (d) => {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    svg.appendChild(path);
    return svg;
  };
  const playIcon = "M8 5v14l11-7z";
  const stopIcon = "M7 7h10v10H7z";
  const freshIcon =
    "M17.65 6.35A7.96 7.96 0 0 0 12 4a8 8 0 1 0 7.73 10h-2.08A6 6 0 1 1 12 6c1.66 0 3.14.69 4.22 1.78L13 11h7V4z";

  const post = async (path, body) => {
    const res = await fetch(origin + path, {
      method: "POST",
      mode: "cors",
      credentials: "omit",
      cache: "no-store",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    let data = null;
    try {
      data = await res.json();
    } catch (e) {
      // a proxy's HTML error page: judged by the status below
    }
    if (!res.ok || !data) {
      const err = new Error((data && data.error) || "http-" + res.status);
      err.code = (data && data.error) || (res.status === 429 ? "rate-limited" : "internal-error");
      throw err;
    }
    return data;
  };

  const widgets = new Map();
  let nextID = 0;
  let serial = 0; // for element ids unique on the page

  class Widget {
    constructor(id, host, o) {
      this.id = id;
      this.host = host;
      this.o = o;
      this.lang = langOf(o.lang || o.hl);
      this.t = text[this.lang];
      this.token = "";
      this.timers = [];
      this.challenge = null;
      this.generation = 0; // requests of an older generation are ignored when they answer
      this.build();
      this.load(false);
    }

    build() {
      const t = this.t;
      const o = this.o;
      const n = "captcha-" + ++serial;
      const theme = o.theme === "dark" || o.theme === "auto" ? o.theme : "light";
      const root = el("div", "cw cw-" + theme + (o.size === "compact" ? " cw-compact" : ""), {
        role: "group",
        "aria-labelledby": n + "-title",
        lang: this.lang,
      });
      root.hidden = true; // until widget.css is there: no unstyled flash
      const title = el("p", "cw-title", { id: n + "-title" });
      title.textContent = t.title;

      const figure = el("div", "cw-figure");
      const img = el("img", "cw-img", { alt: t.alt, tabindex: "0", width: "240", height: "80", draggable: "false" });
      img.onerror = () => {
        if (this.challenge) this.fail({ code: "internal-error" });
      };
      img.onload = () => {
        img.width = img.naturalWidth;
        img.height = img.naturalHeight;
      };
      figure.appendChild(img);

      const row = el("div", "cw-row");
      const play = el("button", "cw-btn cw-icon cw-play", { type: "button", "aria-label": t.play, title: t.play });
      play.appendChild(icon(playIcon));
      play.onclick = () => this.play();
      const label = el("label", "cw-label", { for: n + "-answer" });
      label.textContent = t.answer + " ";
      const hint = el("span", "cw-hint");
      label.appendChild(hint);
      const input = el("input", "cw-input", {
        id: n + "-answer",
        type: "text",
        autocomplete: "off",
        autocapitalize: "characters",
        autocorrect: "off",
        spellcheck: "false",
        maxlength: "64",
        enterkeyhint: "done",
        "aria-describedby": n + "-msg",
      });
      // Enter checks the answer instead of submitting the site's form without a token.
      input.onkeydown = (e) => {
        if (e.key === "Enter" && !e.isComposing) {
          e.preventDefault();
          this.check();
        }
      };
      // A keypress that follows anyway (as synthesized keys send it) would submit the form.
      input.onkeypress = (e) => {
        if (e.key === "Enter") e.preventDefault();
      };
      const check = el("button", "cw-btn cw-check", { type: "button" });
      check.textContent = t.check;
      check.onclick = () => this.check();

      const foot = el("div", "cw-foot");
      const fresh = el("button", "cw-btn cw-icon cw-fresh", { type: "button", "aria-label": t.fresh, title: t.fresh });
      fresh.appendChild(icon(freshIcon));
      fresh.onclick = () => {
        this.load(true);
        this.input.focus();
      };
      const msg = el("p", "cw-msg", { id: n + "-msg", role: "status", "aria-live": "polite", tabindex: "-1" });
      row.append(play, input, check, fresh);
      foot.append(msg);

      const audio = el("audio", "cw-audio", { preload: "none" });
      audio.onplay = () => this.playing(true);
      audio.onpause = audio.onended = () => this.playing(false);
      audio.onerror = () => {
        this.playing(false);
        if (audio.getAttribute("src")) this.say(t.playFailed, "bad");
      };

      root.append(title, figure, label, row, foot, audio);
      // The fields the site's form posts: captcha-response (or as renamed), and under
      // compat=recaptcha also the name a reCAPTCHA page reads.
      this.fields = [];
      const names = [o["response-field-name"] || "captcha-response"];
      if (compat && names[0] !== "g-recaptcha-response") names.push("g-recaptcha-response");
      for (const name of names) {
        const f = el("input", "", { type: "hidden", name });
        root.appendChild(f);
        this.fields.push(f);
      }
      Object.assign(this, { root, img, hint, input, msg, audio, playButton: play });
      this.host.appendChild(root);
      linkStyles().then(() => {
        root.hidden = false;
      });
    }

    // load asks for a new challenge; announce says so in the live region when it is there.
    async load(announce, message) {
      const gen = ++this.generation;
      this.clearTimers();
      this.setToken("");
      this.challenge = null;
      this.root.classList.remove("cw-solved", "cw-failed");
      this.root.classList.add("cw-loading");
      this.audio.pause();
      this.audio.removeAttribute("src");
      this.input.value = "";
      this.input.removeAttribute("placeholder");
      this.hint.textContent = "";
      if (message) this.say(message, "bad");
      let c;
      try {
        c = await post("/widget/v1/challenge", { sitekey: this.o.sitekey });
      } catch (e) {
        if (gen === this.generation) this.fail(e);
        return;
      }
      if (gen !== this.generation) return;
      this.challenge = c;
      c.expiresAt = Date.now() + c.expires_in * 1000;
      this.img.src = origin + c.image;
      this.input.placeholder = this.t.hint(c.length);
      this.hint.textContent = "(" + this.input.placeholder + ")";
      this.input.size = Math.max(c.length + 2, 6);
      this.root.classList.remove("cw-loading");
      if (!message) this.say(announce ? this.t.loaded : "", "");
    }

    play() {
      const a = this.audio;
      if (!a.paused) {
        a.pause();
        return;
      }
      if (!this.challenge) return;
      const url = origin + this.challenge.audio;
      if (a.getAttribute("src") !== url) a.src = url;
      a.currentTime = 0;
      const p = a.play();
      if (p) p.catch((e) => e.name !== "AbortError" && this.say(this.t.playFailed, "bad"));
    }

    playing(on) {
      const label = on ? this.t.stop : this.t.play;
      const b = this.playButton;
      b.setAttribute("aria-label", label);
      b.title = label;
      b.replaceChildren(icon(on ? stopIcon : playIcon));
    }

    async check() {
      const t = this.t;
      const c = this.challenge;
      if (!c || this.busy) return;
      const answer = this.input.value.trim();
      if (!answer) {
        this.say(t.empty, "bad");
        this.input.focus();
        return;
      }
      if (Date.now() > c.expiresAt) {
        this.load(true, t.expired);
        return;
      }
      const body = { sitekey: this.o.sitekey, challenge: c.challenge, answer };
      if (this.o.action) body.action = String(this.o.action);
      if (this.o.cdata) body.cdata = String(this.o.cdata);
      const gen = this.generation;
      this.busy = true;
      let r;
      try {
        r = await post("/widget/v1/answer", body);
      } catch (e) {
        if (gen === this.generation) this.fail(e);
        return;
      } finally {
        this.busy = false;
      }
      if (gen !== this.generation) return;
      if (!r.success) {
        this.load(true, r.error === "wrong-answer" ? t.wrong : t.expired);
        return;
      }
      this.solved(r.token, r.expires_in);
    }

    solved(token, expiresIn) {
      const t = this.t;
      const gen = this.generation;
      this.challenge = null;
      this.audio.pause();
      this.root.classList.add("cw-solved");
      this.setToken(token);
      this.say(t.solved, "ok");
      // The check button is gone: keep the keyboard's place in the widget.
      this.msg.focus();
      const life = Math.max(Number(expiresIn) || 0, 1);
      // Said 30 s ahead, or halfway through a token shorter than a minute.
      const warnAt = Math.max(life - warnBefore, life / 2);
      this.later(warnAt, () => this.say(t.expiring(Math.round(life - warnAt)), "bad"));
      this.later(life, () => {
        if (gen !== this.generation) return;
        this.load(false, t.tokenExpired);
        call(this.o["expired-callback"]);
      });
      call(this.o.callback, token);
    }

    fail(e) {
      const t = this.t;
      const code = (e && e.code) || "network";
      this.challenge = null;
      this.root.classList.remove("cw-loading");
      this.root.classList.add("cw-failed");
      const setup = code === "invalid-sitekey" || code === "origin-not-allowed" || code === "bad-request";
      this.say(setup ? t.setup : code === "rate-limited" ? t.limited : t.error, "bad");
      call(this.o["error-callback"], code);
    }

    // say puts message in the live region; set anew, so a repeated message is read again.
    say(message, tone) {
      const m = this.msg;
      m.classList.toggle("cw-bad", tone === "bad");
      m.classList.toggle("cw-ok", tone === "ok");
      if (m.textContent === message && message) {
        m.textContent = "";
        setTimeout(() => (m.textContent = message), 50);
      } else {
        m.textContent = message;
      }
    }

    setToken(token) {
      this.token = token;
      for (const f of this.fields) f.value = token;
    }

    later(seconds, f) {
      this.timers.push(setTimeout(f, seconds * 1000));
    }

    clearTimers() {
      for (const id of this.timers) clearTimeout(id);
      this.timers = [];
    }

    remove() {
      this.generation++;
      this.clearTimers();
      this.audio.pause();
      this.root.remove();
      delete this.host.dataset.captchaWidget;
    }
  }

  // The options a div's data- attributes give, in the names render takes.
  const optionNames = ["sitekey", "theme", "size", "lang", "hl", "callback", "expired-callback", "error-callback",
    "action", "cdata", "response-field-name"];

  const options = (host, given) => {
    const o = {};
    for (const name of optionNames) {
      const attr = host.getAttribute("data-" + name);
      if (attr !== null && attr !== "") o[name] = attr;
    }
    // render's options win over the attributes, in either spelling.
    for (const k in given || {}) {
      const name = k.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
      if (given[k] !== undefined) o[name] = given[k];
    }
    return o;
  };

  const hostOf = (container) => {
    const host = typeof container === "string" ? document.getElementById(container) : container;
    if (!host || host.nodeType !== 1) throw new Error("captcha.render: no such element: " + container);
    return host;
  };

  const render = (container, given) => {
    const host = hostOf(container);
    if (host.dataset.captchaWidget) throw new Error("captcha.render: this element has a widget already");
    const o = options(host, given);
    if (!o.sitekey) throw new Error("captcha.render: no sitekey");
    const id = nextID++;
    host.dataset.captchaWidget = String(id);
    widgets.set(id, new Widget(id, host, o));
    return id;
  };

  // A widget by id; without one, the page's first, as reCAPTCHA has it.
  const widget = (id) => {
    if (id === undefined || id === null) return widgets.values().next().value;
    const w = widgets.get(Number(id));
    if (!w) throw new Error("captcha: no widget " + id);
    return w;
  };

  const ready = [];
  let isReady = false;
  const whenReady = (f) => {
    if (isReady) call(f);
    else ready.push(f);
  };

  const captcha = {
    _widget: true,
    render,
    getResponse: (id) => {
      const w = widget(id);
      return w ? w.token : "";
    },
    reset: (id) => {
      const w = widget(id);
      if (w) w.load(false);
    },
    remove: (id) => {
      const w = widget(id);
      if (!w) return;
      w.remove();
      widgets.delete(w.id);
    },
    ready: whenReady,
  };
  window.captcha = captcha;
  if (compat) window.grecaptcha = captcha;

  const start = () => {
    if (query.get("render") !== "explicit") {
      const selector = "div.captcha[data-sitekey]" + (compat ? ", .g-recaptcha[data-sitekey]" : "");
      for (const host of document.querySelectorAll(selector)) {
        if (!host.dataset.captchaWidget) render(host);
      }
    }
    isReady = true;
    const onload = query.get("onload");
    if (onload) call(onload);
    for (const f of ready.splice(0)) call(f);
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
