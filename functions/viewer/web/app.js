// doti web viewer: log in, change the password, cameras, a thumbnail timeline per camera, full frames, notes, notices
// and share links.
//
// Security rules of this file (the page's Content-Security-Policy allows only same-origin scripts and styles):
// every piece of data reaches the DOM through textContent or a validated attribute, never through innerHTML;
// no inline handlers or styles; links that come from the API are checked to be http(s) before use.
//
// All URLs are relative to the page, so the viewer works under an API Gateway stage prefix (/Prod/) as well as at /.

// The session token lives in sessionStorage: it survives a reload or a phone discarding the tab in the background
// (memory alone would log the user out each time) but, unlike localStorage, it is scoped to this one tab and is
// gone when the tab closes, so a shared or lost device keeps no lasting session. Any script on the page could read
// it, which is why the CSP admits no inline or third-party script and no data is ever parsed as HTML.
const TOKEN_KEY = "doti.session";
const LANG_KEY = "doti.lang"; // a preference, not a secret: kept across sessions
const NOTES_WINDOW_MS = 30 * 60 * 1000; // notes shown around a frame: half an hour each side
const PAGE_SIZE = 60;
const CLIP_TYPE = "video/mp4"; // a clip (SPEC §4): played in a <video>; its thumbnail is the poster frame, a JPEG

const state = {
  strings: {},
  lang: "ja",
  token: sessionStorage.getItem(TOKEN_KEY),
  me: null,
  cameras: null, // [{camera_id, name, ...}] once loaded
  timeline: null, // {cameraId, filters, items, cursor}
  frame: null, // the frame in the full view
  notices: [],
};

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- text

function t(key, vars = {}) {
  const text = state.strings[state.lang]?.[key] ?? state.strings.en?.[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

function pickLanguage() {
  const saved = localStorage.getItem(LANG_KEY);
  if (saved === "ja" || saved === "en") return saved;
  return (navigator.language || "").toLowerCase().startsWith("ja") ? "ja" : "en";
}

function applyStaticText() {
  document.documentElement.lang = state.lang;
  document.title = t("app.title");
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) {
    node.setAttribute("placeholder", t(node.dataset.i18nPlaceholder));
  }
}

function formatTime(value) {
  if (!value) return "";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return "";
  return new Intl.DateTimeFormat(state.lang === "ja" ? "ja-JP" : "en-GB", {
    dateStyle: "medium",
    timeStyle: "medium",
  }).format(date);
}

// An element with text and attributes; children appended as nodes. Text is always text.
function el(tag, { text, className, attrs } = {}, children = []) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

// Only http(s) URLs from the API become links or image sources (never javascript: or data:).
function safeUrl(value) {
  try {
    const url = new URL(value, location.href);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}

function showStatus(message, kind = "info") {
  const node = $("status");
  node.textContent = message;
  node.className = `status ${kind}`;
  node.hidden = !message;
}

function errorText(error) {
  if (error instanceof ApiError) {
    const key = `error.${error.code}`;
    return state.strings[state.lang]?.[key] ? t(key) : t("error.generic", { code: error.code });
  }
  return t("error.network");
}

// ---------------------------------------------------------------- API

class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || {};
  }
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
    credentials: "omit",
  });
  const payload = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const error = payload?.error || {};
    if (response.status === 401 && state.token) {
      endSession();
      showStatus(t("session.expired"), "error");
    }
    throw new ApiError(response.status, error.code || `http_${response.status}`, error.message || "", error.details);
  }
  return payload;
}

function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value) search.set(name, value);
  const text = search.toString();
  return text ? `?${text}` : "";
}

const enc = encodeURIComponent;

// ---------------------------------------------------------------- session

function startSession(token) {
  state.token = token;
  sessionStorage.setItem(TOKEN_KEY, token);
}

function endSession() {
  state.token = null;
  state.me = null;
  state.cameras = null;
  state.timeline = null;
  state.frame = null;
  state.notices = [];
  sessionStorage.removeItem(TOKEN_KEY);
  $("nav").hidden = true;
  $("notices-banner").hidden = true;
  route();
}

async function login(event) {
  event.preventDefault();
  const errorNode = $("login-error");
  errorNode.hidden = true;
  try {
    const session = await api("POST", "v1/auth/login", { login_id: $("login-id").value, password: $("password").value });
    startSession(session.token);
    $("password").value = "";
    showStatus("");
    await afterLogin(); // a temporary password (must_change_password) leads to the password form
  } catch (error) {
    errorNode.textContent = error instanceof ApiError && error.code === "unauthorized" ? t("login.failed") : errorText(error);
    errorNode.hidden = false;
  }
}

async function logout() {
  try {
    await api("POST", "v1/auth/logout");
  } catch {
    // The session is forgotten here either way; an expired one cannot be logged out twice.
  }
  showStatus("");
  history.replaceState(null, "", location.pathname + location.search); // the next login starts at the cameras
  endSession();
}

async function afterLogin() {
  state.me = await api("GET", "v1/me");
  $("user-name").textContent = state.me.name || state.me.login_id;
  $("nav").hidden = false;
  const forced = passwordRequired();
  for (const id of ["nav-cameras", "nav-shares", "nav-password"]) $(id).hidden = forced;
  if (!forced) loadNotices(); // the API refuses notices until the temporary password is replaced
  route();
}

// A temporary password (an owner's invitation, a staff reset) opens only the account routes until it is replaced.
function passwordRequired() {
  return Boolean(state.me?.must_change_password);
}

// ---------------------------------------------------------------- password

function showPasswordForm() {
  $("password-required").hidden = !passwordRequired();
  $("password-user").value = state.me.login_id;
}

function passwordErrorText(error) {
  if (!(error instanceof ApiError)) return errorText(error);
  if (error.code === "forbidden" && error.details.field === "current_password") return t("password.wrong_current");
  if (error.code === "validation_error" && error.details.field === "new_password") return t("password.rules");
  if (error.code === "account_locked" && error.details.retry_after) {
    return t("password.locked", { time: formatTime(error.details.retry_after) });
  }
  return errorText(error);
}

async function changePassword(event) {
  event.preventDefault();
  const errorNode = $("password-error");
  const next = $("password-new").value;
  const mismatch = next !== $("password-confirm").value;
  errorNode.textContent = mismatch ? t("password.mismatch") : "";
  errorNode.hidden = !mismatch;
  if (mismatch) return;
  try {
    const body = { current_password: $("password-current").value, new_password: next };
    const session = await api("POST", "v1/auth/password", body);
    // The change ended every session of the user, this tab's too: only the token in the reply is valid now.
    startSession(session.token);
    if (parseRoute().view === "password") history.replaceState(null, "", "#/"); // on to the cameras
    await afterLogin(); // leaving the view empties the form
    showStatus(t("password.changed"));
  } catch (error) {
    if (!state.token) return; // the session had ended: the login form says so
    errorNode.textContent = passwordErrorText(error);
    errorNode.hidden = false;
  }
}

// ---------------------------------------------------------------- notices

async function loadNotices() {
  try {
    state.notices = (await api("GET", "v1/notices")).items;
  } catch {
    state.notices = [];
  }
  renderNotices();
}

function renderNotices() {
  const banner = $("notices-banner");
  const unread = state.notices.filter((notice) => !notice.read).length;
  banner.hidden = state.notices.length === 0;
  banner.classList.toggle("has-unread", unread > 0);
  $("notices-summary").textContent = unread ? t("notices.unread", { n: unread }) : t("notices.all_read");
  $("notices-list").replaceChildren(
    ...state.notices.map((notice) => {
      const item = el("li", { className: notice.read ? "notice" : "notice unread" }, [
        el("strong", { text: notice.title }),
        el("time", { text: formatTime(notice.published_at) }),
        el("p", { text: notice.body }),
      ]);
      if (!notice.read) {
        const button = el("button", { text: t("notices.mark_read"), attrs: { type: "button" } });
        button.addEventListener("click", () => markNoticeRead(notice.notice_id));
        item.append(button);
      }
      return item;
    }),
  );
}

function toggleNotices() {
  const list = $("notices-list");
  list.hidden = !list.hidden;
  $("notices-toggle").setAttribute("aria-expanded", String(!list.hidden));
}

async function markNoticeRead(noticeId) {
  try {
    await api("POST", `v1/notices/${enc(noticeId)}/read`);
    await loadNotices();
  } catch (error) {
    showStatus(errorText(error), "error");
  }
}

// ---------------------------------------------------------------- views and routing

const VIEWS = ["login", "password", "cameras", "timeline", "frame", "shares"];

function show(view) {
  for (const name of VIEWS) $(`view-${name}`).hidden = name !== view;
  document.body.dataset.view = view;
  if (view !== "frame") stopClip(); // a hidden <video> would play on
  if (view !== "password") resetPasswordForm(); // typed passwords do not linger in a hidden form
}

function resetPasswordForm() {
  $("password-form").reset();
  $("password-error").hidden = true;
}

// #/ cameras · #/cameras/{id} timeline · #/cameras/{id}/frames/{frame_id} full view · #/shares · #/password
function parseRoute() {
  let parts;
  try {
    parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  } catch {
    return { view: "cameras" }; // a mangled link (bad percent-encoding): the camera list rather than a blank page
  }
  if (parts[0] === "shares") return { view: "shares" };
  if (parts[0] === "password") return { view: "password" };
  if (parts[0] === "cameras" && parts[1] && parts[2] === "frames" && parts[3]) {
    return { view: "frame", cameraId: parts[1], frameId: parts[3] };
  }
  if (parts[0] === "cameras" && parts[1]) return { view: "timeline", cameraId: parts[1] };
  return { view: "cameras" };
}

async function route() {
  if (!state.token) {
    show("login");
    return;
  }
  const target = passwordRequired() ? { view: "password" } : parseRoute();
  show(target.view);
  try {
    if (target.view === "password") showPasswordForm();
    else if (target.view === "cameras") await showCameras();
    else if (target.view === "timeline") await showTimeline(target.cameraId);
    else if (target.view === "frame") await showFrame(target.cameraId, target.frameId);
    else await showShares();
  } catch (error) {
    if (state.token) showStatus(errorText(error), "error");
  }
}

// ---------------------------------------------------------------- cameras

async function loadCameras() {
  if (!state.cameras) state.cameras = (await api("GET", "v1/cameras")).items;
  return state.cameras;
}

function cameraName(cameraId) {
  return state.cameras?.find((camera) => camera.camera_id === cameraId)?.name || cameraId;
}

async function showCameras() {
  state.cameras = null; // the grid shows each camera's latest thumbnail: always fresh
  const cameras = await loadCameras();
  $("cameras-empty").hidden = cameras.length > 0;
  $("camera-grid").replaceChildren(
    ...cameras.map((camera) => {
      const src = camera.thumbnail_url ? safeUrl(camera.thumbnail_url) : null; // the newest frame's, if any
      const picture = src
        ? el("img", { attrs: { src, alt: "", decoding: "async" } })
        : el("span", { className: "no-image", text: t("cameras.no_image") });
      const link = el("a", { className: "camera-card", attrs: { href: `#/cameras/${enc(camera.camera_id)}` } }, [
        picture,
        el("span", { className: "camera-name", text: camera.name }),
        el("time", { className: "camera-time", text: formatTime(camera.last_captured_at) }),
      ]);
      return el("li", {}, [link]);
    }),
  );
}

// ---------------------------------------------------------------- timeline

function localInputToIso(value) {
  if (!value) return "";
  const date = new Date(value); // datetime-local values are in the viewer's own time zone
  return Number.isNaN(date.getTime()) ? "" : date.toISOString();
}

function readFilters() {
  return {
    from: localInputToIso($("filter-from").value),
    to: localInputToIso($("filter-to").value),
    activity: $("filter-activity").checked ? "true" : "",
  };
}

async function fetchFrames(cameraId, filters, cursor) {
  const params = { ...filters, order: "newest", limit: String(PAGE_SIZE), cursor: cursor || "" };
  return api("GET", `v1/cameras/${enc(cameraId)}/frames${query(params)}`);
}

async function loadTimeline(cameraId, filters) {
  const page = await fetchFrames(cameraId, filters);
  state.timeline = { cameraId, filters, items: page.items, cursor: page.cursor || null };
}

async function loadMore() {
  const timeline = state.timeline;
  if (!timeline?.cursor) return false;
  const page = await fetchFrames(timeline.cameraId, timeline.filters, timeline.cursor);
  timeline.items.push(...page.items);
  timeline.cursor = page.cursor || null;
  return page.items.length > 0;
}

async function showTimeline(cameraId) {
  await loadCameras();
  $("timeline-title").textContent = cameraName(cameraId);
  if (state.timeline?.cameraId !== cameraId) {
    $("filter-form").reset();
    $("timeline").replaceChildren();
    await loadTimeline(cameraId, readFilters());
  } else if (urlsExpiring(state.timeline.items)) {
    await loadTimeline(cameraId, state.timeline.filters); // back from the full view after the signed URLs aged
  }
  renderTimeline();
}

function urlsExpiring(items) {
  return items.some((item) => new Date(item.url_expires_at).getTime() < Date.now() + 30_000);
}

function isClip(frame) {
  return frame.content_type === CLIP_TYPE;
}

// m:ss, or h:mm:ss from an hour; at least one second, so a short clip does not read "0:00".
function formatDuration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return "";
  const total = Math.max(1, Math.round(ms / 1000));
  const [hours, minutes, seconds] = [Math.floor(total / 3600), Math.floor(total / 60) % 60, total % 60];
  const tail = String(seconds).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${tail}` : `${minutes}:${tail}`;
}

function frameLabel(frame) {
  const vars = { camera: cameraName(frame.camera_id), time: formatTime(frame.captured_at) };
  return isClip(frame) ? t("frame.clip_alt", vars) : t("frame.alt", vars);
}

// A clip keeps its poster thumbnail in the timeline, with a play badge that gives its duration.
function thumbnail(frame) {
  const time = formatTime(frame.captured_at);
  const src = safeUrl(frame.thumbnail_url);
  const image = el("img", { attrs: { alt: frameLabel(frame), loading: "lazy", decoding: "async" } });
  if (src) image.src = src;
  const picture = isClip(frame)
    ? el("span", { className: "thumb-media" }, [
        image,
        el("span", { className: "clip-badge", text: formatDuration(frame.duration_ms) }),
      ])
    : image;
  const href = `#/cameras/${enc(state.timeline.cameraId)}/frames/${enc(frame.frame_id)}`;
  return el("li", {}, [
    el("a", { className: "thumb", attrs: { href, "data-frame-id": frame.frame_id } }, [
      picture,
      el("time", { text: time, attrs: { datetime: frame.captured_at } }),
    ]),
  ]);
}

function renderTimeline() {
  const { items, cursor } = state.timeline;
  $("timeline").replaceChildren(...items.map(thumbnail));
  $("timeline-empty").hidden = items.length > 0;
  $("load-more").hidden = !cursor;
}

async function applyFilters(event) {
  event.preventDefault();
  try {
    await loadTimeline(state.timeline.cameraId, readFilters());
    renderTimeline();
  } catch (error) {
    showStatus(errorText(error), "error");
  }
}

async function clearFilters() {
  $("filter-form").reset();
  await applyFilters(new Event("submit"));
}

async function onLoadMore() {
  try {
    await loadMore();
    renderTimeline();
  } catch (error) {
    showStatus(errorText(error), "error");
  }
}

// ---------------------------------------------------------------- full view

async function showFrame(cameraId, frameId) {
  await loadCameras();
  if (state.timeline?.cameraId !== cameraId) await loadTimeline(cameraId, readFilters());
  // A fresh fetch: the signed URLs of a listing may be minutes old and expire after the contract's TTL.
  const frame = await api("GET", `v1/cameras/${enc(cameraId)}/frames/${enc(frameId)}`);
  state.frame = frame;
  const time = formatTime(frame.captured_at);
  const src = showMedia(frame);
  const original = $("frame-original");
  original.dataset.i18n = isClip(frame) ? "frame.open_original_clip" : "frame.open_original";
  original.textContent = t(original.dataset.i18n);
  if (src) original.href = src;
  else original.removeAttribute("href");
  $("frame-camera").textContent = cameraName(cameraId);
  $("frame-time").textContent = time;
  $("frame-time").setAttribute("datetime", frame.captured_at);
  $("frame-back").href = `#/cameras/${enc(cameraId)}`;
  updatePager();
  $("share-result").hidden = true;
  await loadNotes();
}

// A still goes in the <img>; a clip in the <video>, showing its poster frame until played. The element not in use is
// hidden and emptied, so nothing of the previous frame stays loaded or playing. Returns the media's URL, if usable.
function showMedia(frame) {
  const clip = isClip(frame);
  const src = safeUrl(frame.image_url);
  const image = $("frame-image");
  const video = $("frame-video");
  image.hidden = clip;
  video.hidden = !clip;
  if (!clip) {
    stopClip();
    image.alt = frameLabel(frame);
    if (src) image.src = src;
    else image.removeAttribute("src");
    return src;
  }
  image.removeAttribute("src");
  video.setAttribute("aria-label", frameLabel(frame));
  const poster = safeUrl(frame.thumbnail_url);
  if (poster) video.poster = poster;
  else video.removeAttribute("poster");
  if (src) video.src = src;
  else stopClip();
  return src;
}

function stopClip() {
  const video = $("frame-video");
  if (!video.hasAttribute("src")) return;
  video.pause();
  video.removeAttribute("src");
  video.load(); // drops what was buffered and any request still running
}

// Masked clips are re-encoded as MPEG-4 Part 2, which browsers do not play; the poster stays, and the original can
// still be saved.
function onClipError() {
  const video = $("frame-video");
  if (video.hidden || !video.error) return; // emptied on the way out of the view: not a failure
  showStatus(t("frame.clip_error"), "warning");
}

function frameIndex() {
  return state.timeline.items.findIndex((item) => item.frame_id === state.frame?.frame_id);
}

// The timeline is newest first: "previous" is the frame captured before this one (further down the list).
function updatePager() {
  const index = frameIndex();
  $("frame-prev").disabled = index < 0 || (index === state.timeline.items.length - 1 && !state.timeline.cursor);
  $("frame-next").disabled = index <= 0;
}

async function step(delta) {
  const index = frameIndex();
  if (index < 0) return;
  let target = index + delta;
  if (target >= state.timeline.items.length && !(await loadMore())) return;
  if (target < 0) return;
  target = Math.min(target, state.timeline.items.length - 1);
  const frame = state.timeline.items[target];
  location.replace(`#/cameras/${enc(state.timeline.cameraId)}/frames/${enc(frame.frame_id)}`);
}

function onKey(event) {
  if (document.body.dataset.view !== "frame" || event.target.closest("input, textarea, select, video")) return; // arrows seek a focused clip
  if (event.key === "ArrowLeft") step(1);
  if (event.key === "ArrowRight") step(-1);
}

// Swipe on the image: right to left shows the next (later) frame, left to right the previous one.
let touchStartX = null;
function onTouchStart(event) {
  touchStartX = event.changedTouches[0].clientX;
}
function onTouchEnd(event) {
  if (touchStartX === null) return;
  const dx = event.changedTouches[0].clientX - touchStartX;
  touchStartX = null;
  if (Math.abs(dx) > 60) step(dx < 0 ? -1 : 1);
}

// ---------------------------------------------------------------- notes

async function loadNotes() {
  const frame = state.frame;
  const at = new Date(frame.captured_at).getTime();
  const params = {
    from: new Date(at - NOTES_WINDOW_MS).toISOString(),
    to: new Date(at + NOTES_WINDOW_MS).toISOString(),
  };
  let notes = [];
  try {
    notes = (await api("GET", `v1/cameras/${enc(frame.camera_id)}/notes${query(params)}`)).items;
  } catch (error) {
    showStatus(errorText(error), "error");
  }
  $("notes-empty").hidden = notes.length > 0;
  $("notes-list").replaceChildren(
    ...notes.map((note) => {
      const who = note.kind === "note" ? note.author?.name || "" : t("notes.device");
      return el("li", { className: `note ${note.kind === "note" ? "" : "event"}`.trim() }, [
        el("div", { className: "note-meta" }, [
          el("time", { text: formatTime(note.at), attrs: { datetime: note.at } }),
          el("span", { text: who }),
        ]),
        el("p", { text: note.text }),
      ]);
    }),
  );
}

async function addNote(event) {
  event.preventDefault();
  const text = $("note-text").value.trim();
  if (!text) return;
  try {
    await api("POST", `v1/cameras/${enc(state.frame.camera_id)}/notes`, { text, at: state.frame.captured_at });
    $("note-text").value = "";
    await loadNotes();
  } catch (error) {
    showStatus(errorText(error), "error");
  }
}

// ---------------------------------------------------------------- share links

async function createShare(event) {
  event.preventDefault();
  const frame = state.frame;
  try {
    const share = await api("POST", "v1/shares", {
      camera_id: frame.camera_id,
      frame_id: frame.frame_id,
      purpose: $("share-purpose").value.trim(),
      expires_in: Number($("share-expires").value),
      one_time: $("share-one-time").checked,
    });
    const url = safeUrl(share.url);
    $("share-created").textContent = t("share.created", { time: formatTime(share.expires_at) });
    $("share-url").value = url || "";
    if (url) $("share-open").href = url;
    $("share-result").hidden = false;
    $("share-result").dataset.shareId = share.share_id;
  } catch (error) {
    showStatus(errorText(error), "error");
  }
}

async function copyShare() {
  const input = $("share-url");
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    input.select(); // no clipboard API (plain http, older browsers): leave it selected for a manual copy
    return;
  }
  showStatus(t("share.copied"));
}

const SHARE_STATUS = {
  active: "shares.active",
  revoked: "shares.revoked",
  expired: "shares.expired",
  used: "shares.used",
};

async function showShares() {
  await loadCameras();
  const shares = (await api("GET", "v1/shares")).items;
  $("shares-empty").hidden = shares.length > 0;
  $("share-list").replaceChildren(...shares.map(shareItem));
}

function shareItem(share) {
  const what = share.frame_id
    ? t("shares.frame")
    : t("shares.window", { from: formatTime(share.from), to: formatTime(share.to) });
  const status = SHARE_STATUS[share.status] ? share.status : "expired"; // anything unknown: not offered as live
  const item = el("li", { className: `share ${status}`, attrs: { "data-share-id": share.share_id } }, [
    el("strong", { text: share.purpose }),
    el("span", { text: `${cameraName(share.camera_id)} · ${what}` }),
    el("span", { text: t("shares.expires_at", { time: formatTime(share.expires_at) }) }),
    el("span", { className: "badge", text: t(SHARE_STATUS[status]) }),
  ]);
  if (status === "active") {
    const button = el("button", { text: t("shares.revoke"), className: "danger", attrs: { type: "button" } });
    button.addEventListener("click", () => revokeShare(share.share_id));
    item.append(button);
  }
  return item;
}

async function revokeShare(shareId) {
  try {
    await api("DELETE", `v1/shares/${enc(shareId)}`);
    await showShares();
  } catch (error) {
    showStatus(errorText(error), "error");
  }
}

// ---------------------------------------------------------------- start

function toggleLanguage() {
  state.lang = state.lang === "ja" ? "en" : "ja";
  localStorage.setItem(LANG_KEY, state.lang);
  applyStaticText();
  renderNotices();
  if (state.token) route();
}

function wire() {
  $("login-form").addEventListener("submit", login);
  $("password-form").addEventListener("submit", changePassword);
  $("logout").addEventListener("click", logout);
  $("lang-toggle").addEventListener("click", toggleLanguage);
  $("notices-toggle").addEventListener("click", toggleNotices);
  $("filter-form").addEventListener("submit", applyFilters);
  $("filter-clear").addEventListener("click", clearFilters);
  $("load-more").addEventListener("click", onLoadMore);
  $("frame-prev").addEventListener("click", () => step(1));
  $("frame-next").addEventListener("click", () => step(-1));
  $("note-form").addEventListener("submit", addNote);
  $("share-form").addEventListener("submit", createShare);
  $("share-copy").addEventListener("click", copyShare);
  const image = $("frame-image");
  image.addEventListener("touchstart", onTouchStart, { passive: true });
  image.addEventListener("touchend", onTouchEnd, { passive: true });
  $("frame-video").addEventListener("error", onClipError); // no swipes on the clip: they would fight its scrubber
  document.addEventListener("keydown", onKey);
  window.addEventListener("hashchange", () => {
    showStatus("");
    $("notices-list").hidden = true; // a read notice should not push every later page down
    $("notices-toggle").setAttribute("aria-expanded", "false");
    route();
  });
}

async function start() {
  const response = await fetch("assets/i18n.json");
  state.strings = await response.json();
  state.lang = pickLanguage();
  applyStaticText();
  wire();
  document.body.classList.remove("loading");
  if (!state.token) {
    route();
    return;
  }
  try {
    await afterLogin();
  } catch (error) {
    if (state.token) showStatus(errorText(error), "error");
  }
}

start();
