// doti web viewer: log in, change the password, a live camera grid, a day timeline and thumbnails per camera, full
// frames with download, notes, notices, share links, and the owner console (users, exports, access log, deletions).
// Each role sees only the controls it may use (RIGHTS mirrors doti/accounts/roles.py; the API enforces it anyway).
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
const TZ_KEY = "doti.tz"; // the time zone the viewer reads times in: a preference, kept across sessions
const DEFAULT_TZ = "Asia/Tokyo"; // the service's customers are in Japan; a browser elsewhere may switch to its own
const GRID_POLL_MS = 15_000; // the camera grid's refresh, while the page is visible
const LIVE_POLL_MS = 5_000; // one camera's live view follows its newest frame more closely
const EXPORT_POLL_MS = 3_000; // an export being built, in the owner console
const BUCKET_MS = 15 * 60 * 1000; // the day timeline's buckets
const ACTIVITY_MARK = 2.0; // doti.ingest.activity.DEFAULT_THRESHOLD: a bucket above it is drawn as active
const RECENT_EXPORTS = 10;

// What each role may do (doti/accounts/roles.py). The SITE_WIDE rights also need a user without a site scope, "console"
// is the menu entry of the owner console (users for owners; exports and the access log for managers too).
const RIGHTS = {
  viewer: ["view"],
  manager: ["view", "write_notes", "share", "export", "access_log", "handle_requests"],
  owner: [
    "view",
    "write_notes",
    "share",
    "export",
    "access_log",
    "handle_requests",
    "manage_users",
    "register_purposes",
    "manage_webhooks",
    "manage_alerts",
  ],
};

// The access log and webhooks tell of every site of the contract (a webhook hears of all of them).
const SITE_WIDE = ["access_log", "manage_webhooks"];

// The purpose codes (doti/contracts/purposes.py), in the order they are shown; their labels are i18n "purpose.<code>".
const PURPOSES = ["crime_prevention", "store_operations", "staffing", "customer_flow", "safety", "other"];

const state = {
  strings: {},
  lang: "ja",
  token: sessionStorage.getItem(TOKEN_KEY),
  me: null,
  cameras: null, // [{camera_id, name, ...}] once loaded
  timeline: null, // {cameraId, filters, items, cursor}
  frame: null, // the frame in the full view
  notices: [],
  tz: DEFAULT_TZ,
  day: null, // the timeline's day, YYYY-MM-DD in state.tz
  dayBar: null, // {key, buckets, markers, index} of the timeline's day, or null when the API has none
  poll: null, // {fn, ms}: what the visible view refreshes, stopped in background tabs
  serverExports: null, // false once GET /v1/exports answered 404 (an older server): the remembered list is used
};

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------- text

function t(key, vars = {}) {
  const text = state.strings[state.lang]?.[key] ?? state.strings.en?.[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

// A count in words: the key's _one/_other (…) form for the language's plural rule ("1 unread notice", "2 unread
// notices"; Japanese has only _other).
function tn(key, n, vars = {}) {
  const rule = new Intl.PluralRules(locale()).select(n);
  const strings = state.strings[state.lang] || {};
  const form = strings[`${key}_${rule}`] !== undefined ? `${key}_${rule}` : `${key}_other`;
  return t(form, { n: formatNumber(n), ...vars });
}

function locale() {
  return state.lang === "ja" ? "ja-JP" : "en-GB";
}

function formatNumber(n) {
  return new Intl.NumberFormat(locale()).format(n);
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

function pickTimeZone() {
  const saved = localStorage.getItem(TZ_KEY);
  return saved && validZone(saved) ? saved : DEFAULT_TZ;
}

function browserZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || DEFAULT_TZ;
}

function validZone(zone) {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

// Every time is shown in the viewer's time zone (state.tz), whatever the device's own is.
function formatWith(value, options) {
  if (!value) return "";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return "";
  return new Intl.DateTimeFormat(locale(), { timeZone: state.tz, ...options }).format(date);
}

function formatTime(value) {
  return formatWith(value, { dateStyle: "medium", timeStyle: "medium" });
}

function formatClock(value) {
  return formatWith(value, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
}

function formatDayLabel(day) {
  return formatWith(zonedToInstant(day, "12:00"), { dateStyle: "medium" });
}

function formatHour(value) {
  return formatWith(value, { month: "short", day: "numeric", weekday: "short", hour: "2-digit", hourCycle: "h23" });
}

// "3 min ago": how old a frame is, in the page's language.
function formatAge(value, now = Date.now()) {
  const at = new Date(value).getTime();
  if (!value || Number.isNaN(at)) return "";
  const seconds = Math.round((at - now) / 1000);
  const words = new Intl.RelativeTimeFormat(locale(), { numeric: "auto", style: "short" });
  if (Math.abs(seconds) < 60) return words.format(Math.min(seconds, 0), "second");
  if (Math.abs(seconds) < 3600) return words.format(Math.round(seconds / 60), "minute");
  if (Math.abs(seconds) < 86400) return words.format(Math.round(seconds / 3600), "hour");
  return words.format(Math.round(seconds / 86400), "day");
}

function formatBytes(bytes) {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = Number(bytes) || 0;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${new Intl.NumberFormat(locale(), { maximumFractionDigits: unit ? 1 : 0 }).format(value)} ${units[unit]}`;
}

// ---------------------------------------------------------------- time zones (no library: Intl does the work)

function zoneParts(ms, zone) {
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
  return Object.fromEntries(format.formatToParts(new Date(ms)).map((part) => [part.type, part.value]));
}

// How far the zone's wall clock is ahead of UTC at an instant, in ms.
function zoneOffset(ms, zone) {
  const p = zoneParts(ms, zone);
  const wall = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour % 24, +p.minute, +p.second);
  return wall - Math.floor(ms / 1000) * 1000;
}

// The instant a wall-clock time of a day occurs in the viewer's zone ("2026-12-03", "10:15[:30]").
function zonedToInstant(day, clock = "00:00", zone = state.tz) {
  const [year, month, date] = day.split("-").map(Number);
  const [hours, minutes, seconds = 0] = clock.split(":").map(Number);
  const wall = Date.UTC(year, month - 1, date, hours, minutes, seconds);
  const first = wall - zoneOffset(wall, zone);
  return wall - zoneOffset(first, zone); // again at the found instant: right across a DST change
}

function dayOf(ms, zone = state.tz) {
  const p = zoneParts(ms, zone);
  return `${p.year}-${p.month}-${p.day}`;
}

function nextDay(day) {
  const [year, month, date] = day.split("-").map(Number);
  return new Date(Date.UTC(year, month - 1, date + 1)).toISOString().slice(0, 10);
}

// A datetime-local value for an instant, in the viewer's zone (what the filter inputs show).
function toLocalInput(ms) {
  const p = zoneParts(ms, state.tz);
  return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}`;
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
  state.dayBar = null;
  forgetRequests();
  forgetWebhooks();
  sessionStorage.removeItem(TOKEN_KEY);
  stopPolling();
  closeMenu();
  $("menu-toggle").hidden = true;
  $("user-name").textContent = "";
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
  $("menu-toggle").hidden = false;
  applyRights();
  if (!passwordRequired()) loadNotices(); // the API refuses notices until the temporary password is replaced
  route();
}

// ---------------------------------------------------------------- roles and the menu

function can(right) {
  const rights = RIGHTS[state.me?.role] || [];
  if (SITE_WIDE.includes(right)) return rights.includes(right) && !state.me.site_ids?.length;
  if (right === "console") return rights.includes("export") || rights.includes("manage_users");
  return rights.includes(right);
}

// Controls the role may not use are not shown at all (data-needs names the right). A temporary password leaves only
// the password form and logout.
function applyRights() {
  const forced = passwordRequired();
  for (const node of document.querySelectorAll("[data-needs]")) node.hidden = forced || !can(node.dataset.needs);
  $("nav-cameras").hidden = forced;
  $("nav-console").textContent = t(consoleTitleKey());
  renderZoneToggle();
}

function consoleTitleKey() {
  return can("manage_users") ? "console.owner" : "console.manager";
}

function toggleMenu() {
  const nav = $("nav");
  nav.hidden = !nav.hidden;
  $("menu-toggle").setAttribute("aria-expanded", String(!nav.hidden));
}

function closeMenu() {
  $("nav").hidden = true;
  $("menu-toggle").setAttribute("aria-expanded", "false");
}

function renderZoneToggle() {
  const other = state.tz === DEFAULT_TZ ? browserZone() : DEFAULT_TZ;
  const button = $("tz-toggle");
  button.hidden = passwordRequired() || (other === state.tz && state.tz === DEFAULT_TZ);
  button.textContent = t("tz.switch", { zone: state.tz, other });
}

function toggleZone() {
  state.tz = state.tz === DEFAULT_TZ ? browserZone() : DEFAULT_TZ;
  localStorage.setItem(TZ_KEY, state.tz);
  state.dayBar = null;
  state.day = null;
  state.timeline = null; // its filters were read in the other zone
  renderZoneToggle();
  closeMenu();
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
  $("notices-summary").textContent = unread ? tn("notices.unread", unread) : t("notices.all_read");
  $("notices-list").replaceChildren(
    ...state.notices.map((notice) => {
      const item = el("li", { className: notice.read ? "notice" : "notice unread" }, [
        el("strong", { text: notice.title }),
        el("span", { className: "notice-meta" }, noticeMeta(notice)),
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

// Its kind in words, when it was published and, for a planned change, when it takes effect.
function noticeMeta(notice) {
  const kind = state.strings[state.lang]?.[`notice.kind.${notice.kind}`] ? t(`notice.kind.${notice.kind}`) : notice.kind;
  const parts = [
    el("span", { className: "badge", text: kind }),
    el("time", { text: formatTime(notice.published_at), attrs: { datetime: notice.published_at } }),
  ];
  if (notice.effective_at) {
    parts.push(el("span", { className: "nowrap", text: t("notice.effective", { time: formatTime(notice.effective_at) }) }));
  }
  return parts;
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

const VIEWS = ["login", "password", "cameras", "live", "timeline", "frame", "shares", "console"];

function show(view) {
  for (const name of VIEWS) $(`view-${name}`).hidden = name !== view;
  document.body.dataset.view = view;
  if (view !== "frame") stopClip(); // a hidden <video> would play on
  if (view !== "password") resetPasswordForm(); // typed passwords do not linger in a hidden form
  if (view !== "console") hideWebhookSecret(); // a secret is shown once: leaving the console ends it
}

function resetPasswordForm() {
  $("password-form").reset();
  $("password-error").hidden = true;
}

// #/ cameras · #/cameras/{id} timeline · #/cameras/{id}/live · #/cameras/{id}/frames/{frame_id} full view · #/shares
// · #/console · #/password. A view the role may not use falls back to the cameras.
function parseRoute() {
  const target = parseHash();
  if (target.view === "shares" && !can("share")) return { view: "cameras" };
  if (target.view === "console" && !can("console")) return { view: "cameras" };
  return target;
}

function parseHash() {
  let parts;
  try {
    parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  } catch {
    return { view: "cameras" }; // a mangled link (bad percent-encoding): the camera list rather than a blank page
  }
  if (parts[0] === "shares") return { view: "shares" };
  if (parts[0] === "console") return { view: "console" };
  if (parts[0] === "cameras" && parts[1] && parts[2] === "live") return { view: "live", cameraId: parts[1] };
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
  stopPolling();
  show(target.view);
  try {
    if (target.view === "password") showPasswordForm();
    else if (target.view === "cameras") await showCameras();
    else if (target.view === "live") await showLive(target.cameraId);
    else if (target.view === "timeline") await showTimeline(target.cameraId);
    else if (target.view === "frame") await showFrame(target.cameraId, target.frameId);
    else if (target.view === "console") await showConsole();
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
  renderCameras(await loadCameras());
  startPolling("cameras", refreshCameras, GRID_POLL_MS);
}

async function refreshCameras() {
  state.cameras = (await api("GET", "v1/cameras")).items;
  if (document.body.dataset.view === "cameras") renderCameras(state.cameras);
}

// One large tile per camera: the newest frame (at its natural size at most), its age, and the camera's status when
// the API gives one. A tile whose frame did not change keeps its image, so a refresh does not flicker.
function renderCameras(cameras) {
  $("cameras-empty").hidden = cameras.length > 0;
  const previous = new Map([...$("camera-grid").querySelectorAll("img[data-frame-id]")].map((img) => [img.dataset.frameId, img]));
  $("camera-grid").replaceChildren(...cameras.map((camera) => cameraTile(camera, previous)));
}

function cameraTile(camera, previous) {
  const href = `#/cameras/${enc(camera.camera_id)}`;
  const link = el("a", { className: "camera-card", attrs: { href } }, [
    el("span", { className: "tile-media" }, [tilePicture(camera, previous)]),
    el("span", { className: "camera-head" }, [
      el("span", { className: "camera-name", text: camera.name }),
      ...statusBadge(camera.status),
    ]),
    el("span", { className: "camera-time" }, frameAge(camera.last_frame_at || camera.last_captured_at)),
    ...(camera.purposes_registered === false
      ? [el("span", { className: "purpose-warning", text: t("purposes.missing") })]
      : []),
  ]);
  const live = el("a", { className: "live-link", text: t("live.open"), attrs: { href: `${href}/live` } });
  return el("li", { className: "camera-tile", attrs: { "data-camera-id": camera.camera_id } }, [link, live]);
}

function tilePicture(camera, previous) {
  const kept = camera.last_frame_id && previous.get(camera.last_frame_id);
  if (kept) return kept;
  const src = camera.thumbnail_url ? safeUrl(camera.thumbnail_url) : null; // the newest frame's, if any
  if (!src) return el("span", { className: "no-image", text: t("cameras.no_image") });
  const alt = t("cameras.latest", { camera: camera.name });
  return el("img", { attrs: { src, alt, decoding: "async", "data-frame-id": camera.last_frame_id || "" } });
}

const STATUSES = ["online", "stale", "offline"];

function statusBadge(status) {
  if (!STATUSES.includes(status)) return []; // an API without camera status: no badge rather than a guess
  return [el("span", { className: `badge status-${status}`, text: t(`status.${status}`) })];
}

// "12:03 · 3 min ago": the time and the age of the newest frame, never wrapped mid-value.
function frameAge(value) {
  if (!value) return [];
  return [
    el("time", { text: formatTime(value), attrs: { datetime: value } }),
    el("span", { className: "age", text: formatAge(value) }),
  ];
}

// ---------------------------------------------------------------- polling (visible tabs only)

let pollTimer = null;

// Only for the view on screen: a view left while it was still loading does not start polling behind the next one.
function startPolling(view, fn, ms) {
  if (document.body.dataset.view !== view) return;
  stopPolling();
  state.poll = { fn, ms };
  armPoll();
}

function stopPolling() {
  state.poll = null;
  clearTimeout(pollTimer);
  pollTimer = null;
}

// A background tab (phone locked, another tab in front) asks nothing; coming back refreshes at once.
function armPoll() {
  clearTimeout(pollTimer);
  pollTimer = null;
  const poll = state.poll;
  if (!poll || document.visibilityState !== "visible") return;
  pollTimer = setTimeout(() => runPoll(poll), poll.ms);
}

async function runPoll(poll) {
  if (state.poll !== poll) return;
  try {
    await poll.fn();
  } catch {
    // the next round tries again; a 401 has already ended the session
  }
  if (state.poll === poll) armPoll();
}

function onVisibilityChange() {
  if (document.visibilityState === "visible" && state.poll) runPoll(state.poll);
  else armPoll();
}

// ---------------------------------------------------------------- live view of one camera

async function showLive(cameraId) {
  await loadCameras();
  $("live-title").textContent = cameraName(cameraId);
  $("live-timeline").href = `#/cameras/${enc(cameraId)}`;
  $("live-image").removeAttribute("src");
  delete $("live-image").dataset.frameId;
  await refreshLive(cameraId);
  startPolling("live", () => refreshLive(cameraId), LIVE_POLL_MS);
}

// Follows the camera's newest frame: the image changes only when a newer frame has arrived. The camera's status and
// last_frame_at come from GET /v1/cameras/{id}: one camera, not the whole list with a thumbnail signed for each.
async function refreshLive(cameraId) {
  const [page, camera] = await Promise.all([
    api("GET", `v1/cameras/${enc(cameraId)}/frames${query({ order: "newest", limit: "1" })}`),
    api("GET", `v1/cameras/${enc(cameraId)}`),
  ]);
  state.cameras = (state.cameras || []).map((item) => (item.camera_id === camera.camera_id ? camera : item));
  if (document.body.dataset.view !== "live") return;
  const badge = statusBadge(camera?.status)[0];
  $("live-status").hidden = !badge;
  if (badge) {
    $("live-status").className = badge.className;
    $("live-status").textContent = badge.textContent;
  }
  const last = camera?.last_frame_at;
  $("live-last").textContent = last ? t("live.last_frame", { time: formatTime(last), age: formatAge(last) }) : t("live.never");
  const frame = page.items[0];
  $("live-empty").hidden = Boolean(frame);
  $("live-image").hidden = !frame;
  if (!frame) return;
  const image = $("live-image");
  if (image.dataset.frameId !== frame.frame_id) {
    const src = safeUrl(isClip(frame) ? frame.thumbnail_url : frame.image_url);
    if (src) image.src = src;
    image.dataset.frameId = frame.frame_id;
    image.alt = frameLabel(frame);
  }
  $("live-time").textContent = formatTime(frame.captured_at);
  $("live-time").setAttribute("datetime", frame.captured_at);
  $("live-age").textContent = formatAge(frame.captured_at);
}

// ---------------------------------------------------------------- timeline: filters behind the date chip

// datetime-local values are read in the viewer's time zone (state.tz), not the device's.
function localInputToIso(value) {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}(?::\d{2})?)/.exec(value || "");
  if (!match) return "";
  const ms = zonedToInstant(match[1], match[2]);
  return Number.isNaN(ms) ? "" : new Date(ms).toISOString();
}

function today() {
  return dayOf(Date.now());
}

// The list's query: an explicit from/to when given, else the chosen day (today: the newest frames).
function readFilters() {
  const day = /^\d{4}-\d{2}-\d{2}$/.test($("filter-day").value) ? $("filter-day").value : today();
  state.day = day;
  let from = localInputToIso($("filter-from").value);
  let to = localInputToIso($("filter-to").value);
  if (!from && !to && day !== today()) {
    from = new Date(zonedToInstant(day)).toISOString();
    to = new Date(zonedToInstant(nextDay(day))).toISOString();
  }
  return { from, to, activity: $("filter-activity").checked ? "true" : "" };
}

function resetFilters() {
  $("filter-form").reset();
  state.day = today();
  $("filter-day").value = state.day;
  showFilters(false);
}

function showFilters(open) {
  $("filter-form").hidden = !open;
  $("date-chip").setAttribute("aria-expanded", String(open));
}

// The chip says what the list shows: the day, a time range if any, "activity only".
function renderChip() {
  const filters = state.timeline?.filters || {};
  const day = state.day || today();
  const parts = [day === today() ? t("filter.today") : formatDayLabel(day)];
  if ($("filter-from").value || $("filter-to").value) {
    parts.push(`${formatClock(filters.from) || "…"}–${formatClock(filters.to) || "…"}`);
  }
  if (filters.activity) parts.push(t("filter.activity_short"));
  $("date-chip").textContent = `${parts.join(" · ")} ▾`;
  $("date-chip").setAttribute("aria-label", t("filter.chip", { what: parts.join(", ") }));
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
  $("timeline-live").href = `#/cameras/${enc(cameraId)}/live`;
  if (state.timeline?.cameraId !== cameraId) {
    resetFilters();
    state.dayBar = null;
    $("timeline").replaceChildren();
    await loadTimeline(cameraId, readFilters());
  } else if (urlsExpiring(state.timeline.items)) {
    await loadTimeline(cameraId, state.timeline.filters); // back from the full view after the signed URLs aged
  }
  renderTimeline();
  renderChip();
  renderPurposes(state.cameras.find((camera) => camera.camera_id === cameraId));
  await loadDayBar(cameraId);
}

// ---------------------------------------------------------------- purposes (Art. 2-4)

// Every role sees whether the camera's purposes are registered; the owner also gets the form (data-needs).
function renderPurposes(camera) {
  const registered = Boolean(camera?.purposes_registered);
  $("purposes-warning").hidden = !camera || registered;
  $("purposes-summary").hidden = !registered;
  if (registered) {
    // "other" is named as such before its text, as on the notice page, and the summary says whether people are filmed.
    const names = camera.purposes.map((code) =>
      code === "other" ? t("purposes.other_named", { text: camera.other_text }) : t(`purpose.${code}`),
    );
    const people = camera.people_filmed ? t("purposes.people_filmed_yes") : t("purposes.people_filmed_no");
    const parts = [t("purposes.summary", { purposes: names.join(" / ") }), camera.coverage, people];
    $("purposes-summary").textContent = parts.join(" · ");
  }
  if (!can("register_purposes") || !camera) return;
  $("purposes-panel").open = !registered;
  $("purposes-codes").replaceChildren(
    ...PURPOSES.map((code) => {
      const box = el("input", { attrs: { type: "checkbox", name: "purpose", value: code } });
      box.checked = camera.purposes.includes(code);
      return el("label", { className: "check" }, [box, el("span", { text: t(`purpose.${code}`) })]);
    }),
  );
  $("purposes-other").value = camera.other_text || "";
  $("purposes-coverage").value = camera.coverage || "";
  for (const radio of document.querySelectorAll('input[name="people-filmed"]')) {
    radio.checked = camera.people_filmed !== null && radio.value === (camera.people_filmed ? "yes" : "no");
  }
}

async function savePurposes(event) {
  event.preventDefault();
  const cameraId = state.timeline?.cameraId;
  const codes = [...document.querySelectorAll('input[name="purpose"]:checked')].map((box) => box.value);
  if (!cameraId) return;
  if (!codes.length) {
    showStatus(t("purposes.need_one"), "error");
    return;
  }
  const body = {
    purposes: codes,
    coverage: $("purposes-coverage").value.trim(),
    people_filmed: document.querySelector('input[name="people-filmed"]:checked')?.value === "yes",
  };
  if (codes.includes("other")) body.other_text = $("purposes-other").value.trim();
  try {
    const camera = await api("PUT", `v1/cameras/${enc(cameraId)}/purposes`, body);
    state.cameras = state.cameras?.map((known) => (known.camera_id === camera.camera_id ? camera : known)) || null;
    renderPurposes(camera);
    showStatus(t("purposes.saved"));
  } catch (error) {
    showStatus(errorText(error), "error");
  }
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
  return el("li", { className: "thumb-item" }, [
    el("a", { className: "thumb", attrs: { href, "data-frame-id": frame.frame_id } }, [
      picture,
      el("time", { text: formatWith(frame.captured_at, { timeStyle: "medium" }), attrs: { datetime: frame.captured_at } }),
    ]),
  ]);
}

function hourKey(value) {
  const p = zoneParts(new Date(value).getTime(), state.tz);
  return `${p.year}-${p.month}-${p.day}T${p.hour}`;
}

function hourHeading(value) {
  const day = formatWith(value, { weekday: "short", month: "short", day: "numeric" });
  return el("li", { className: "hour-heading" }, [el("h3", { text: `${day} ${zoneParts(new Date(value).getTime(), state.tz).hour}:00` })]);
}

// Thumbnails under a heading for each hour (in the viewer's time zone).
function renderTimeline() {
  const { items, cursor } = state.timeline;
  const nodes = [];
  let hour = null;
  for (const frame of items) {
    const key = hourKey(frame.captured_at);
    if (key !== hour) nodes.push(hourHeading(frame.captured_at));
    hour = key;
    nodes.push(thumbnail(frame));
  }
  $("timeline").replaceChildren(...nodes);
  $("timeline-empty").hidden = items.length > 0;
  $("load-more").hidden = !cursor;
}

async function applyFilters(event) {
  event.preventDefault();
  try {
    await loadTimeline(state.timeline.cameraId, readFilters());
    showFilters(false);
    renderTimeline();
    renderChip();
    await loadDayBar(state.timeline.cameraId);
  } catch (error) {
    showStatus(errorText(error), "error");
  }
}

async function clearFilters() {
  resetFilters();
  await applyFilters(new Event("submit"));
}

// A day chosen in the calendar: its bar and its frames at once.
async function onDayPicked() {
  $("filter-from").value = "";
  $("filter-to").value = "";
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

// ---------------------------------------------------------------- the day bar

// The day's 15-minute buckets from GET …/timeline. An API without that route (404), or any refusal, hides the bar:
// the thumbnails below still work.
async function loadDayBar(cameraId) {
  const day = state.day || today();
  const key = `${cameraId}|${day}|${state.tz}`;
  if (state.dayBar?.key !== key) {
    state.dayBar = null;
    try {
      const answer = await api("GET", `v1/cameras/${enc(cameraId)}/timeline${query({ date: day, tz: state.tz })}`);
      const buckets = Array.isArray(answer?.buckets) ? answer.buckets : [];
      const markers = Array.isArray(answer?.markers) ? answer.markers : [];
      const truncated = answer?.markers_truncated === true;
      if (buckets.length) state.dayBar = { key, day, buckets, markers, truncated, index: lastBusy(buckets) };
    } catch {
      state.dayBar = null;
    }
  }
  renderDayBar();
}

function lastBusy(buckets) {
  for (let i = buckets.length - 1; i >= 0; i -= 1) if (buckets[i].count > 0) return i;
  return 0;
}

const MARKER_TEXT_MAX = 120; // characters of a marker's text shown in the list (the whole text is its title)
const MARKER_TITLE_TEXTS = 3; // marker texts named in a bucket's title and in the bar's spoken value

// A text cut to `max` characters (code points: an emoji or a surrogate pair is never split), with an ellipsis.
function truncateText(value, max) {
  const chars = [...String(value ?? "")];
  return chars.length > max ? `${chars.slice(0, max).join("").trimEnd()}…` : chars.join("");
}

function markerIndex(bar, marker) {
  const start = new Date(bar.buckets[0].start).getTime();
  return Math.floor((new Date(marker.at).getTime() - start) / BUCKET_MS);
}

// Per bucket: how many events and notes fall in it, and their texts (at most the markers the API returned).
function markersByBucket(bar) {
  const found = bar.buckets.map(() => ({ event: 0, note: 0, texts: [] }));
  for (const marker of bar.markers) {
    const slot = found[markerIndex(bar, marker)];
    if (!slot || (marker.kind !== "event" && marker.kind !== "note")) continue;
    slot[marker.kind] += 1;
    slot.texts.push(truncateText(marker.text, MARKER_TEXT_MAX));
  }
  return found;
}

// The day's markers as a list under the bar: local time, kind and text (textContent only, never HTML), each a
// button that jumps to its moment, so the markers are reachable and readable without the bar. Folded on a phone (the
// first pictures stay in the upper half of the screen), open on a wider screen; a user's choice stands for the day.
function renderMarkerList(bar) {
  const inDay = (marker) => (marker.kind === "event" || marker.kind === "note") && bar.marks[markerIndex(bar, marker)];
  const markers = bar.markers.filter(inDay);
  const wrap = $("daybar-markers-wrap");
  wrap.hidden = markers.length === 0;
  if (wrap.dataset.key !== bar.key) {
    wrap.dataset.key = bar.key;
    wrap.open = window.matchMedia("(min-width: 700px)").matches;
  }
  $("daybar-markers-count").textContent = t("daybar.markers", { n: String(markers.length) });
  $("daybar-markers-more").hidden = !bar.truncated;
  $("daybar-markers").replaceChildren(
    ...markers.map((marker) => {
      const text = String(marker.text ?? "");
      const button = el("button", { className: `marker ${marker.kind}`, attrs: { type: "button", title: truncateText(text, 1000) } }, [
        el("time", { text: formatClock(marker.at), attrs: { datetime: marker.at } }),
        el("span", { className: "badge", text: t(`daybar.kind.${marker.kind}`) }),
        el("span", { className: "marker-text", text: truncateText(text, MARKER_TEXT_MAX) }),
      ]);
      button.addEventListener("click", () => jumpToBucket(markerIndex(bar, marker)));
      return el("li", {}, [button]);
    }),
  );
}

// A bucket's title names its markers' texts (the first few): a pointer hovering the bar reads them.
function bucketTitle(index) {
  const texts = state.dayBar.marks[index].texts;
  if (!texts.length) return "";
  const more = texts.length > MARKER_TITLE_TEXTS ? ` (+${texts.length - MARKER_TITLE_TEXTS})` : "";
  return `${texts.slice(0, MARKER_TITLE_TEXTS).join(" / ")}${more}`;
}

function renderDayBar() {
  const bar = state.dayBar;
  $("daybar-wrap").hidden = !bar;
  if (!bar) return;
  bar.marks = markersByBucket(bar);
  const most = Math.max(1, ...bar.buckets.map((bucket) => bucket.count || 0));
  const node = $("daybar");
  node.replaceChildren(
    ...bar.buckets.map((bucket, i) => {
      const title = bucketTitle(i);
      return el("span", { className: bucketClass(bucket, most, bar.marks[i]), attrs: title ? { title } : {} });
    }),
  );
  renderMarkerList(bar);
  node.setAttribute("role", "slider");
  node.tabIndex = 0;
  node.setAttribute("aria-label", t("daybar.label", { day: formatDayLabel(bar.day) }));
  node.setAttribute("aria-valuemin", "0");
  node.setAttribute("aria-valuemax", String(bar.buckets.length - 1));
  selectBucket(bar.index);
}

// Density in five steps (relative to the day's busiest bucket), activity and markers as classes: no inline style.
function bucketClass(bucket, most, marks) {
  const count = bucket.count || 0;
  const level = count ? Math.max(1, Math.ceil((count / most) * 4)) : 0;
  const names = ["bucket", `d${level}`];
  if ((bucket.max_activity ?? 0) >= ACTIVITY_MARK) names.push("act");
  if (marks.event) names.push("ev");
  if (marks.note) names.push("nt");
  return names.join(" ");
}

function bucketText(index) {
  const bar = state.dayBar;
  const bucket = bar.buckets[index];
  const start = new Date(bucket.start).getTime();
  const parts = [`${formatClock(start)}–${formatClock(start + BUCKET_MS)}`, tn("daybar.frames", bucket.count || 0)];
  if ((bucket.max_activity ?? 0) >= ACTIVITY_MARK) parts.push(t("daybar.activity"));
  if (bar.marks[index].event) parts.push(tn("daybar.events", bar.marks[index].event));
  if (bar.marks[index].note) parts.push(tn("daybar.notes", bar.marks[index].note));
  return parts.join(", ");
}

function selectBucket(index) {
  const bar = state.dayBar;
  bar.index = Math.max(0, Math.min(bar.buckets.length - 1, index));
  const node = $("daybar");
  for (const [i, child] of [...node.children].entries()) child.classList.toggle("sel", i === bar.index);
  node.setAttribute("aria-valuenow", String(bar.index));
  node.setAttribute("aria-valuetext", bucketText(bar.index));
  node.title = bucketText(bar.index);
}

// The list jumps to that moment: the frames up to the end of the bucket, newest first.
async function jumpToBucket(index) {
  selectBucket(index);
  const bucket = state.dayBar.buckets[state.dayBar.index];
  const end = new Date(bucket.start).getTime() + BUCKET_MS;
  $("filter-from").value = "";
  $("filter-to").value = toLocalInput(end);
  await applyFilters(new Event("submit"));
}

function onDayBarClick(event) {
  if (!state.dayBar) return;
  const rect = $("daybar").getBoundingClientRect();
  const count = state.dayBar.buckets.length;
  jumpToBucket(Math.floor(((event.clientX - rect.left) / rect.width) * count));
}

const BAR_KEYS = { ArrowLeft: -1, ArrowDown: -1, ArrowRight: 1, ArrowUp: 1, PageDown: -4, PageUp: 4 };

function onDayBarKey(event) {
  const bar = state.dayBar;
  if (!bar) return;
  if (event.key === "Enter" || event.key === " ") jumpToBucket(bar.index);
  else if (event.key in BAR_KEYS) selectBucket(bar.index + BAR_KEYS[event.key]);
  else if (event.key === "Home") selectBucket(0);
  else if (event.key === "End") selectBucket(bar.buckets.length - 1);
  else return;
  event.preventDefault();
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
  const noteText = $("note-text"); // "a note about this frame" or "… this clip", in either language
  noteText.dataset.i18nPlaceholder = isClip(frame) ? "notes.placeholder_clip" : "notes.placeholder";
  noteText.setAttribute("placeholder", t(noteText.dataset.i18nPlaceholder));
  if (src) original.href = src;
  else original.removeAttribute("href");
  showDownload(frame);
  $("frame-camera").textContent = cameraName(cameraId);
  $("frame-time").textContent = time;
  $("frame-time").setAttribute("datetime", frame.captured_at);
  $("frame-back").href = `#/cameras/${enc(cameraId)}`;
  updatePager();
  $("share-result").hidden = true;
  renderSharePurposes(cameraId);
  await loadNotes();
}

// The API's attachment link (download_url) saves the original; an API without it shows no button.
function showDownload(frame) {
  const link = $("frame-download");
  const url = frame.download_url ? safeUrl(frame.download_url) : null;
  link.hidden = !url;
  link.textContent = t(isClip(frame) ? "frame.download_clip" : "frame.download");
  if (url) link.href = url;
  else link.removeAttribute("href");
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
      const device = note.author?.name ? t("notes.device_named", { device: note.author.name }) : t("notes.device");
      const who = note.kind === "note" ? note.author?.name || "" : device;
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

// The statutory grounds a link may name (doti/viewing/share_purposes.py GROUNDS), in order; labels are i18n
// "ground.<key>". A link's purpose is a code: "purpose:<code>" (the camera's registered purposes) or "ground:<key>".
const SHARE_GROUNDS = ["art10-3-1", "art10-3-2", "art10-3-3", "art10-3-4", "art10-3-5"];

// The purpose select: the camera's registered purposes, then the grounds. Without registered purposes only the
// grounds are offered, with a hint that an owner registers them. A choice still offered is kept across redraws.
function renderSharePurposes(cameraId) {
  const select = $("share-purpose");
  const kept = select.value;
  const camera = state.cameras?.find((item) => item.camera_id === cameraId);
  const registered = PURPOSES.filter((code) => camera?.purposes?.includes(code));
  const option = (value, text) => el("option", { text, attrs: { value } });
  const groups = [];
  if (registered.length) {
    const own = registered.map((code) =>
      option(`purpose:${code}`, code === "other" && camera.other_text ? camera.other_text : t(`purpose.${code}`)),
    );
    groups.push(el("optgroup", { attrs: { label: t("share.purpose_registered") } }, own));
  }
  const grounds = SHARE_GROUNDS.map((key) => option(`ground:${key}`, t(`ground.${key}`)));
  groups.push(el("optgroup", { attrs: { label: t("share.purpose_grounds") } }, grounds));
  select.replaceChildren(...groups);
  if ([...select.options].some((item) => item.value === kept)) select.value = kept;
  $("share-purpose-hint").hidden = registered.length > 0;
}

// The purpose in the list: the API's words in the page's language, and the note.
function sharePurposeText(share) {
  const label = share.purpose_label?.[state.lang] || share.purpose;
  return share.purpose_note ? `${label} · ${share.purpose_note}` : label;
}

async function createShare(event) {
  event.preventDefault();
  const frame = state.frame;
  const note = $("share-purpose-note").value.trim();
  try {
    const share = await api("POST", "v1/shares", {
      camera_id: frame.camera_id,
      frame_id: frame.frame_id,
      purpose: $("share-purpose").value,
      ...(note ? { purpose_note: note } : {}),
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
    el("strong", { text: sharePurposeText(share) }),
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

// ---------------------------------------------------------------- owner console

// Users for owners; exports (and the access log without a site scope) for managers too; deletion receipts and
// notices for both. Each section asks its own route, so one refusal does not blank the others.
async function showConsole() {
  await loadCameras();
  $("console-title").textContent = t(consoleTitleKey());
  applyRights();
  $("invite-result").hidden = true; // an invitation link is shown once, right after it is made
  hideWebhookSecret(); // so is a webhook's secret
  const sections = [showDeletions(), showConsoleNotices()];
  sections.push(showOperator());
  if (can("manage_users")) sections.push(showUsers());
  if (can("export")) sections.push(showExports());
  if (can("access_log")) sections.push(showAccessLog());
  if (can("handle_requests")) sections.push(showRequests());
  if (can("manage_webhooks")) sections.push(showWebhooks());
  if (can("manage_alerts")) sections.push(showMailAlerts());
  const failed = (await Promise.allSettled(sections)).find((result) => result.status === "rejected");
  if (failed && state.token) showStatus(errorText(failed.reason), "error");
  if (can("export")) startPolling("console", () => refreshExports(), EXPORT_POLL_MS);
}

// ---- the operator and the inquiry contact (Art. 2-4)

// Staff record both on the contract; the public notice page names them (the sign names the operator), and the
// customer cannot change them, so the console says who can. GET /v1/me is read again each time the console opens, so
// what staff recorded since the login shows.
async function showOperator() {
  const { contract } = await api("GET", "v1/me");
  // The notice page names the contract while no operator is recorded: the console says so rather than a bare "unset".
  $("operator-name").textContent = contract.operator_name || t("operator.unset_name", { name: contract.name });
  $("operator-contact").textContent = contract.inquiry_contact || t("operator.unset");
  $("operator-missing").hidden = Boolean(contract.operator_name && contract.inquiry_contact);
}

function roleName(role) {
  return ["owner", "manager", "viewer"].includes(role) ? t(`role.${role}`) : role;
}

// The sites of the cameras the user sees: GET /v1/cameras names each camera's site (site_name); a site without a
// name is named by its cameras.
function siteNames() {
  const names = new Map();
  for (const camera of state.cameras || []) {
    const site = names.get(camera.site_id) || { name: "", cameras: [] };
    if (typeof camera.site_name === "string" && camera.site_name.trim()) site.name = camera.site_name;
    site.cameras.push(camera.name);
    names.set(camera.site_id, site);
  }
  return names;
}

function siteLabel(siteId) {
  const site = siteNames().get(siteId);
  if (!site) return siteId;
  return site.name || t("users.site_of", { cameras: site.cameras.join(", ") });
}

function scopeText(siteIds) {
  return siteIds?.length ? siteIds.map(siteLabel).join(" / ") : t("users.all_sites");
}

// ---- users

async function showUsers() {
  const answer = await api("GET", "v1/users");
  // A list can be drawn again while a button in it waits for its second press (the console refreshes when shown):
  // the row that is drawn again keeps asking, so that press is not lost.
  const armed = armedKeys("user-list", "invitation-list");
  $("user-list").replaceChildren(...answer.items.map((user) => userRow(user, armed)));
  $("invitation-list").replaceChildren(...answer.invitations.map((invitation) => invitationRow(invitation, armed)));
  $("invitations-empty").hidden = answer.invitations.length > 0;
  renderSiteChoices();
}

function userRow(user, armed) {
  const row = el("li", { className: "row-item", attrs: { "data-login-id": user.login_id } }, [
    el("strong", { text: user.name }),
    el("span", { className: "muted", text: user.login_id }),
    el("span", { className: "badge", text: roleName(user.role) }),
    el("span", { text: scopeText(user.site_ids) }),
  ]);
  if (user.login_id !== state.me.login_id) {
    const key = `user:${user.login_id}`;
    row.append(confirmButton(t("users.remove"), () => removeUser(user.login_id), key, armed.has(key)));
  }
  return row;
}

function invitationRow(invitation, armed) {
  const key = `invitation:${invitation.invitation_id}`;
  return el("li", { className: "row-item", attrs: { "data-invitation-id": invitation.invitation_id } }, [
    el("strong", { text: invitation.name }),
    el("span", { className: "badge", text: roleName(invitation.role) }),
    el("span", { text: scopeText(invitation.site_ids) }),
    el("span", { className: "nowrap", text: t("users.invitation_expires", { time: formatTime(invitation.expires_at) }) }),
    confirmButton(t("users.revoke"), () => revokeInvitation(invitation.invitation_id), key, armed.has(key)),
  ]);
}

// The keys of the buttons in these lists that wait for their second press.
function armedKeys(...listIds) {
  const keys = listIds.flatMap((id) => [...$(id).querySelectorAll("button[data-armed][data-key]")]);
  return new Set(keys.map((button) => button.dataset.key));
}

// A destructive button asks once more in place (no window.confirm: it blocks, and phones style it poorly). `key`
// names what it acts on, so a list drawn again can keep it `armed`.
function confirmButton(label, action, key = "", armed = false) {
  const button = el("button", { text: label, className: "danger", attrs: { type: "button" } });
  const arm = () => {
    button.dataset.armed = "1";
    button.textContent = t("confirm.really", { action: label });
  };
  if (key) button.dataset.key = key;
  if (armed) arm();
  button.addEventListener("click", async () => {
    if (!button.dataset.armed) {
      arm();
      return;
    }
    button.disabled = true;
    try {
      await action();
    } catch (error) {
      showStatus(errorText(error), "error");
      button.disabled = false;
    }
  });
  return button;
}

async function removeUser(loginId) {
  await api("DELETE", `v1/users/${enc(loginId)}`);
  await showUsers();
}

async function revokeInvitation(invitationId) {
  await api("DELETE", `v1/invitations/${enc(invitationId)}`);
  await showUsers();
}

// One checkbox per site the owner sees; none ticked means every site. A site-scoped owner must pick within theirs.
function renderSiteChoices() {
  const checked = new Set([...document.querySelectorAll("#invite-sites input:checked")].map((box) => box.value));
  const siteIds = [...siteNames().keys()].sort((a, b) => siteLabel(a).localeCompare(siteLabel(b)));
  const choices = siteIds.map((siteId) =>
    el("label", { className: "check" }, [
      el("input", { attrs: { type: "checkbox", value: siteId, ...(checked.has(siteId) ? { checked: "" } : {}) } }),
      el("span", { text: siteLabel(siteId) }),
    ]),
  );
  $("invite-sites").replaceChildren(...choices);
}

async function invite(event) {
  event.preventDefault();
  const siteIds = [...document.querySelectorAll("#invite-sites input:checked")].map((box) => box.value);
  const body = { name: $("invite-name").value.trim(), role: $("invite-role").value };
  if (siteIds.length) body.site_ids = siteIds;
  try {
    const created = await api("POST", "v1/users", body);
    $("invite-form").reset();
    $("invite-url").value = safeUrl(created.url) || "";
    $("invite-created").textContent = t("users.invited", { name: created.name, time: formatTime(created.expires_at) });
    $("invite-result").hidden = false;
    await showUsers();
  } catch (error) {
    showStatus(errorText(error), "error");
  }
}

async function copyInvitation() {
  try {
    await navigator.clipboard.writeText($("invite-url").value);
    showStatus(t("share.copied"));
  } catch {
    $("invite-url").select();
  }
}

// ---- exports: the contract's recent ones from GET /v1/exports (those of the user's sites). A server without that
// route (404) falls back to the ones this browser asked for, remembered in localStorage.

function exportsKey() {
  return `doti.exports.${state.me.user_id}`;
}

function rememberedExports() {
  try {
    const ids = JSON.parse(localStorage.getItem(exportsKey()) || "[]");
    return Array.isArray(ids) ? ids.filter((id) => typeof id === "string").slice(0, RECENT_EXPORTS) : [];
  } catch {
    return [];
  }
}

function rememberExports(ids) {
  localStorage.setItem(exportsKey(), JSON.stringify(ids.slice(0, RECENT_EXPORTS)));
}

async function showExports() {
  $("export-camera").replaceChildren(
    ...(state.cameras || []).map((camera) => el("option", { text: camera.name, attrs: { value: camera.camera_id } })),
  );
  if (!$("export-from").value) {
    $("export-from").value = toLocalInput(zonedToInstant(today())).slice(0, 16);
    $("export-to").value = toLocalInput(Date.now() + 60_000).slice(0, 16); // up to the next minute: now included
  }
  await refreshExports(true);
}

// The list asked afresh (one request) on showing, after a request, and while one of them is being built.
async function refreshExports(all = false) {
  const list = $("export-list");
  const pending = [...list.children].some((row) => !["ready", "failed"].includes(row.dataset.status));
  if (!all && !pending) return;
  let rows;
  if (state.serverExports !== false) {
    try {
      const page = await api("GET", `v1/exports${query({ limit: String(RECENT_EXPORTS) })}`);
      state.serverExports = true;
      rows = page.items.map(exportRow);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) throw error;
      state.serverExports = false;
    }
  }
  if (!rows) rows = await rememberedExportRows();
  list.replaceChildren(...rows);
  $("exports-empty").hidden = rows.length > 0;
}

// Without the list route: each remembered export, asked alone; one gone (kept 7 days) is forgotten.
async function rememberedExportRows() {
  const rows = [];
  for (const id of rememberedExports()) {
    try {
      rows.push(exportRow(await api("GET", `v1/exports/${enc(id)}`)));
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) throw error;
    }
  }
  rememberExports(rows.map((row) => row.dataset.exportId));
  return rows;
}

function exportRow(item) {
  const status = ["queued", "building", "ready", "failed"].includes(item.status) ? item.status : "queued";
  const row = el("li", { className: `row-item export ${status}`, attrs: { "data-export-id": item.export_id } }, [
    el("strong", { text: cameraName(item.camera_id) }),
    el("span", {}, [el("time", { text: formatTime(item.from) }), " – ", el("time", { text: formatTime(item.to) })]),
    el("span", { className: "badge", text: t(`exports.${status}`) }),
  ]);
  row.dataset.status = status;
  if (status === "ready") {
    row.append(el("span", { text: `${tn("exports.frames", item.frames || 0)} · ${formatBytes(item.size)}` }));
    const url = item.download_url ? safeUrl(item.download_url) : null;
    if (url) row.append(el("a", { className: "button", text: t("exports.download"), attrs: { href: url, download: "" } }));
  }
  if (status === "failed") row.append(el("span", { className: "error", text: t("exports.error", { code: item.error?.code || "" }) }));
  return row;
}

async function requestExport(event) {
  event.preventDefault();
  const body = {
    camera_id: $("export-camera").value,
    from: localInputToIso($("export-from").value),
    to: localInputToIso($("export-to").value),
  };
  try {
    const accepted = await api("POST", "v1/exports", body);
    rememberExports([accepted.export_id, ...rememberedExports().filter((id) => id !== accepted.export_id)]);
    await refreshExports(true);
  } catch (error) {
    showStatus(errorText(error), "error");
  }
}

// ---- the access log, in words

async function showAccessLog(cursor = null) {
  const page = await api("GET", `v1/access-log${query({ limit: "50", cursor: cursor || "" })}`);
  const rows = page.items.map(accessRow);
  if (cursor) $("access-list").append(...rows);
  else $("access-list").replaceChildren(...rows);
  $("access-empty").hidden = $("access-list").children.length > 0;
  $("access-more").hidden = !page.cursor;
  $("access-more").dataset.cursor = page.cursor || "";
}

// The server's words for a user or device no longer on the contract (doti.oversight.access_log): shown translated.
const FORMER_ACTORS = { "a former user": "actor.former_user", "a former device": "actor.former_device" };

// Who, in names, for every role that reads the log: the server names the contract's users and devices (a manager
// may not list the users); the security company's staff, jobs and share links are the page's own translated words.
function actorText(entry) {
  if (entry.actor === "user" && entry.actor_id === state.me.user_id) return t("actor.you");
  if (entry.actor === "user" || entry.actor === "device") {
    const former = FORMER_ACTORS[entry.actor_name];
    if (former) return t(former);
    return entry.actor_name || t(`actor.${entry.actor}`);
  }
  return ["staff", "system", "share", "public"].includes(entry.actor) ? t(`actor.${entry.actor}`) : entry.actor_name || entry.actor;
}

function actionText(entry) {
  const key = `action.${entry.action}`;
  return state.strings[state.lang]?.[key] ? t(key) : entry.action;
}

// The camera an entry is about, as the server names it (a camera outside the user's list is named too).
function subjectText(entry) {
  return typeof entry.camera_name === "string" ? entry.camera_name : "";
}

function accessRow(entry) {
  const row = el("li", { className: "row-item access" }, [
    el("time", { text: formatTime(entry.at), attrs: { datetime: entry.at } }),
    el("strong", { text: actorText(entry) }),
    el("span", { text: actionText(entry) }),
  ]);
  const subject = subjectText(entry);
  if (subject) row.append(el("span", { className: "muted", text: subject }));
  const purpose = entry.purpose_label?.[state.lang]; // a share link's entries: what the link is for
  if (purpose) row.append(el("span", { className: "muted", text: purpose }));
  if (entry.withheld?.length) row.append(el("span", { className: "muted", text: t("access.withheld") }));
  return row;
}

// ---- deletion receipts and notices

async function showDeletions() {
  const receipts = (await api("GET", "v1/deletions")).items;
  $("deletions-empty").hidden = receipts.length > 0;
  $("deletion-table").hidden = receipts.length === 0;
  $("deletion-list").replaceChildren(...receipts.map(receiptRow));
}

// One day: what retention and takedowns deleted, apart, and the total. A day counted before the split existed
// (`by_source` null) shows its total only, with a note: the split is unknown, never guessed.
function receiptRow(receipt) {
  const split = receipt.by_source;
  const sources = split
    ? [countsCell(split.retention, "retention"), countsCell(split.takedown, "takedown")]
    : [el("td", { className: "unsplit", text: t("deletions.unsplit"), attrs: { colspan: "2" } })];
  return el("tr", { attrs: { "data-day": receipt.day } }, [
    el("th", { text: receipt.day, attrs: { scope: "row" } }),
    ...sources,
    countsCell(receipt, "total"),
  ]);
}

function countsCell(counts, source) {
  return el("td", { className: source, attrs: { "data-source": source, "data-label": t(`deletions.${source}`) } }, [
    el("span", { className: "count", text: tn("deletions.frames", counts.frames) }),
    el("span", { className: "count", text: tn("deletions.notes", counts.notes) }),
    el("span", { className: "count", text: formatBytes(counts.bytes) }),
  ]);
}

async function showConsoleNotices() {
  await loadNotices();
  $("console-notices-empty").hidden = state.notices.length > 0;
  $("console-notice-list").replaceChildren(
    ...state.notices.map((notice) =>
      el("li", { className: notice.read ? "row-item notice" : "row-item notice unread" }, [
        el("strong", { text: notice.title }),
        el("span", { className: "notice-meta" }, noticeMeta(notice)),
        el("p", { text: notice.body }),
      ]),
    ),
  );
}

// ---- requests from the people filmed (Art. 2-4, issue 15 point 5)

// What the API names (doti/subjects/requests.py); the labels are i18n "request.kind.*", "request.status.*",
// "request.action.*" (the choices) and "request.answered.*" (the answers given). Disclosure and deletion need the
// camera and window the person gave.
const REQUEST_STATUSES = ["open", "deleting", "answered"];
const REQUEST_ACTIONS = ["reply", "refuse", "disclose", "delete"];
const TEXT_REQUIRED = ["reply", "refuse"]; // the API refuses these without a text
const REQUEST_FRAMES = 24; // thumbnails offered at a time when choosing the frame to disclose

// The request open in the console, kept while its footage is looked at and the console shown again (forgotten at
// logout). `frames`: the disclosure choices loaded.
const requestDesk = { requestId: null, request: null, frames: null, cameraId: null };

// Logging out leaves nothing of a person's request (text, contact) in the page or in memory.
function forgetRequests() {
  Object.assign(requestDesk, { requestId: null, request: null, frames: null });
  const detail = requestDetailNode();
  detail.hidden = true;
  $("console-requests").append(detail);
  for (const id of ["request-facts", "request-answers", "request-frames"]) part(id).replaceChildren();
  part("request-answer-form").reset(); // a reply half typed
  $("request-list").replaceChildren();
}

function requestLabel(group, code) {
  const key = `request.${group}.${code}`;
  return state.strings[state.lang]?.[key] ? t(key) : code;
}

function formatMinute(value) {
  return formatWith(value, { dateStyle: "medium", timeStyle: "short" });
}

// Newest first, as the API lists them. The open request's detail sits under its row (a phone reads straight down).
async function showRequests(cursor = null) {
  const page = await api("GET", `v1/requests${query({ cursor: cursor || "" })}`);
  const rows = page.items.map(requestRow);
  if (cursor) $("request-list").append(...rows);
  else $("request-list").replaceChildren(...rows);
  $("requests-empty").hidden = $("request-list").children.length > 0;
  $("requests-more").hidden = !page.cursor;
  $("requests-more").dataset.cursor = page.cursor || "";
  if (!cursor) await placeRequestDetail();
}

function requestRow(request) {
  const overdue = request.overdue === true;
  const status = REQUEST_STATUSES.includes(request.status) ? request.status : "open";
  const where = [request.site_name || siteLabel(request.site_id), request.camera_name].filter(Boolean).join(" · ");
  const parts = [
    el("strong", { text: requestLabel("kind", request.kind) }),
    el("span", { className: `badge request-${status}`, text: requestLabel("status", status) }),
  ];
  // overdue in words as well as colour: the badge is read out, the row's border is only a cue
  if (overdue) parts.push(el("span", { className: "badge overdue", text: t("requests.overdue") }));
  parts.push(
    el("span", { className: "request-where", text: where }),
    el("span", { className: "nowrap" }, [`${t("requests.received")} `, timeOf(request.created_at, formatMinute)]),
    el("span", { className: "nowrap request-due" }, [`${t("requests.due")} `, timeOf(request.due_at, formatMinute)]),
  );
  const attrs = { type: "button", "aria-expanded": "false", "aria-controls": "request-detail" };
  const button = el("button", { className: "row-button", attrs }, parts);
  button.addEventListener("click", () => toggleRequest(request.request_id));
  const className = `row-item request${overdue ? " overdue" : ""}`;
  return el("li", { className, attrs: { "data-request-id": request.request_id } }, [button]);
}

async function toggleRequest(requestId) {
  const closing = requestDesk.requestId === requestId;
  requestDesk.requestId = closing ? null : requestId;
  try {
    await placeRequestDetail();
    if (!closing) part("request-detail-heading").focus();
  } catch (error) {
    showStatus(errorText(error), "error");
  }
}

// The detail moves under the open request's row, read afresh (text and contact come with the one request only).
async function placeRequestDetail() {
  const detail = requestDetailNode();
  const requestId = requestDesk.requestId;
  const row = requestId && $("request-list").querySelector(`li[data-request-id="${CSS.escape(requestId)}"]`);
  for (const button of $("request-list").querySelectorAll(".row-button")) {
    button.setAttribute("aria-expanded", String(button.parentElement === row));
  }
  if (!row) {
    detail.hidden = true;
    $("console-requests").append(detail);
    return;
  }
  const request = await api("GET", `v1/requests/${enc(requestId)}`);
  row.append(detail);
  detail.hidden = false;
  if (requestDesk.request?.request_id !== request.request_id) {
    requestDesk.frames = null; // the disclosure choices were another request's
    requestDesk.cameraId = null;
    part("request-frames").replaceChildren();
  }
  requestDesk.request = request;
  renderRequestDetail(request);
}

// Found once: while no request is open the node is kept in the panel, hidden. While the list is drawn again it is out
// of the page for a moment, so its parts are found through it, never by document-wide id.
let requestDetail = null;
function requestDetailNode() {
  requestDetail ||= $("request-detail");
  return requestDetail;
}

function part(id) {
  return requestDetailNode().querySelector(`#${id}`);
}

// The camera a request's footage is on: the one the person named, else the one chosen here among the site's (the
// answer then names it: POST /v1/requests/{id}/answer takes camera_id for disclose and delete).
function cameraOf(request) {
  return request.camera_id || requestDesk.cameraId;
}

function hasFootage(request) {
  return Boolean(cameraOf(request) && request.from && request.to);
}

function renderCameraChoice(request) {
  const wrap = part("request-camera-wrap");
  const cameras = (state.cameras || []).filter((camera) => camera.site_id === request.site_id);
  wrap.hidden = Boolean(request.camera_id) || !request.from || !request.to || cameras.length === 0;
  if (wrap.hidden) return;
  if (!cameras.some((camera) => camera.camera_id === requestDesk.cameraId)) requestDesk.cameraId = cameras[0].camera_id;
  const select = part("request-camera");
  select.replaceChildren(
    ...cameras.map((camera) => el("option", { text: camera.name, attrs: { value: camera.camera_id } })),
  );
  select.value = requestDesk.cameraId;
}

function onRequestCamera() {
  requestDesk.cameraId = part("request-camera").value;
  requestDesk.frames = null; // the disclosure choices were another camera's
  part("request-frames").replaceChildren();
  renderRequestDetail(requestDesk.request);
}

function fact(label, ...value) {
  return [el("dt", { text: label }), el("dd", {}, value)];
}

function timeOf(value, format = formatTime) {
  return el("time", { text: format(value), attrs: { datetime: value } });
}

function renderRequestDetail(request) {
  part("request-detail-heading").textContent = requestLabel("kind", request.kind);
  const status = requestLabel("status", request.status);
  const when = hasFootage(request) ? [timeOf(request.from), " – ", timeOf(request.to)] : [t("requests.no_window")];
  const where = [request.site_name || siteLabel(request.site_id), request.camera_name || t("requests.no_camera")];
  part("request-facts").replaceChildren(
    ...fact(t("requests.reference"), el("span", { className: "reference", text: request.request_id })),
    ...fact(t("requests.status"), request.overdue ? `${status} · ${t("requests.overdue")}` : status),
    ...fact(t("requests.where"), where.join(" · ")),
    ...fact(t("requests.window"), ...when),
    ...fact(t("requests.received"), timeOf(request.created_at)),
    ...fact(t("requests.due"), timeOf(request.due_at)),
    ...fact(t("requests.text"), el("p", { className: "request-text", text: request.text || "" })),
    ...fact(t("requests.contact"), el("span", { className: "request-contact", text: request.contact || "" })),
  );
  renderCameraChoice(request);
  const footage = part("request-footage");
  footage.hidden = !hasFootage(request);
  if (hasFootage(request)) footage.href = `#/cameras/${enc(cameraOf(request))}`;
  part("request-answers").replaceChildren(...request.answers.map(answerItem));
  part("request-answers-empty").hidden = request.answers.length > 0;
  const deleting = request.status === "deleting"; // the API takes no answer until the deletion is done
  part("request-deleting").hidden = !deleting;
  part("request-answer-form").hidden = deleting;
  for (const choice of requestDetailNode().querySelectorAll("[data-footage-only]")) {
    choice.hidden = !hasFootage(request);
  }
  resetAnswerForm();
}

function answerItem(answer) {
  const done = answer.frames_deleted !== undefined && answer.frames_deleted !== null;
  const title = done ? tn("requests.frames_deleted", answer.frames_deleted) : requestLabel("answered", answer.action);
  const item = el("li", { className: "request-answer" }, [el("strong", { text: title }), timeOf(answer.at)]);
  if (answer.frame_id) item.append(el("span", { className: "muted", text: t("requests.disclosed_frame") }));
  if (answer.text) item.append(el("p", { text: answer.text }));
  return item;
}

function chosenAction() {
  const value = requestDetailNode().querySelector('input[name="request-action"]:checked')?.value;
  return REQUEST_ACTIONS.includes(value) ? value : "reply";
}

function resetAnswerForm() {
  part("request-answer-form").reset();
  onRequestAction();
}

// The form follows the chosen answer: a text where one is needed, the window's frames for a disclosure, and a
// deletion's button that asks once more.
function onRequestAction() {
  const action = chosenAction();
  const text = part("request-answer-text");
  text.required = TEXT_REQUIRED.includes(action);
  part("request-text-label").textContent = t(text.required ? `requests.text_${action}` : "requests.text_optional");
  part("request-action-hint").textContent = t(`requests.hint_${action}`);
  // hidden and disabled: the frame choice (required) holds no other answer back
  part("request-frames-wrap").hidden = part("request-frames-wrap").disabled = action !== "disclose";
  const send =
    action === "delete"
      ? confirmButton(t("requests.delete"), () => answerRequest("delete"))
      : el("button", { className: "primary", text: t("requests.send"), attrs: { type: "submit" } });
  part("request-send").replaceChildren(send);
  if (action === "disclose" && !requestDesk.frames) {
    loadRequestFrames().catch((error) => showStatus(errorText(error), "error"));
  }
}

// The frames of the request's camera in its window, oldest first, as thumbnails to choose one from.
async function loadRequestFrames(cursor = null) {
  const request = requestDesk.request;
  const params = { from: request.from, to: request.to, order: "oldest", limit: String(REQUEST_FRAMES) };
  if (cursor) params.cursor = cursor;
  const page = await api("GET", `v1/cameras/${enc(cameraOf(request))}/frames${query(params)}`);
  if (requestDesk.request !== request) return; // another request was opened meanwhile
  requestDesk.frames = [...(cursor ? requestDesk.frames || [] : []), ...page.items];
  const choices = page.items.map(frameChoice);
  if (cursor) part("request-frames").append(...choices);
  else part("request-frames").replaceChildren(...choices);
  part("request-frames-empty").hidden = requestDesk.frames.length > 0;
  part("request-frames-more").hidden = !page.cursor;
  part("request-frames-more").dataset.cursor = page.cursor || "";
}

function frameChoice(frame) {
  const input = el("input", { attrs: { type: "radio", name: "request-frame", value: frame.frame_id, required: "" } });
  const image = el("img", { attrs: { alt: "", loading: "lazy", decoding: "async" } }); // the time names the choice
  const src = safeUrl(frame.thumbnail_url);
  if (src) image.src = src;
  const time = timeOf(frame.captured_at, (value) => formatWith(value, { timeStyle: "medium" }));
  return el("li", {}, [el("label", { className: "frame-choice" }, [input, image, time])]);
}

async function sendRequestAnswer(event) {
  event.preventDefault();
  const action = chosenAction();
  if (action === "delete") return; // its own button, which asks once more
  try {
    await answerRequest(action);
  } catch (error) {
    showStatus(errorText(error), "error");
  }
}

async function answerRequest(action) {
  const request = requestDesk.request;
  const body = { action };
  const text = part("request-answer-text").value.trim();
  if (text) body.text = text;
  if (action === "disclose") {
    const frame = requestDetailNode().querySelector('input[name="request-frame"]:checked');
    if (!frame) {
      showStatus(t("requests.need_frame"), "error");
      return;
    }
    body.frame_id = frame.value;
  }
  if ((action === "disclose" || action === "delete") && !request.camera_id) body.camera_id = cameraOf(request);
  await api("POST", `v1/requests/${enc(request.request_id)}/answer`, body);
  showStatus(t(action === "delete" ? "requests.deleting" : "requests.answered"));
  await showRequests(); // the list (status, overdue) and the detail afresh
}

// One press: the camera's timeline at the request's window, through the timeline's own filters (its day, from and
// to), so the date chip says what is shown and "clear" goes back to the camera's day.
async function openRequestFootage(event) {
  const request = requestDesk.request;
  if (!request || !hasFootage(request)) return;
  event.preventDefault();
  const from = new Date(request.from).getTime();
  $("filter-form").reset();
  $("filter-day").value = dayOf(from);
  $("filter-from").value = toLocalInput(from);
  $("filter-to").value = toLocalInput(new Date(request.to).getTime());
  state.dayBar = null;
  try {
    await loadTimeline(cameraOf(request), readFilters());
  } catch (error) {
    showStatus(errorText(error), "error");
    return;
  }
  location.hash = `#/cameras/${enc(cameraOf(request))}`;
}

function wireRequests() {
  $("request-answer-form").addEventListener("submit", sendRequestAnswer);
  $("request-camera").addEventListener("change", onRequestCamera);
  for (const radio of document.querySelectorAll('input[name="request-action"]')) {
    radio.addEventListener("change", onRequestAction);
  }
  $("request-footage").addEventListener("click", openRequestFootage);
  $("requests-more").addEventListener("click", () =>
    showRequests($("requests-more").dataset.cursor).catch((error) => showStatus(errorText(error), "error")),
  );
  $("request-frames-more").addEventListener("click", () => {
    const cursor = part("request-frames-more").dataset.cursor;
    loadRequestFrames(cursor).catch((error) => showStatus(errorText(error), "error"));
  });
}

// ---- webhooks (issue 16 §3): where the contract's events go, for an owner without a site scope

// The event types an endpoint may subscribe to (doti/webhooks/events.py EVENT_TYPES), in the order offered; their
// words are i18n "webhooks.event.<type>", their explanations "webhooks.about.<type>".
const WEBHOOK_EVENTS = [
  "camera.offline",
  "camera.online",
  "device.event",
  "frame.activity",
  "export.ready",
  "notice.published",
  "share.viewed",
];
const WEBHOOK_FIELDS = ["url", "events"]; // what a 422 may name (error.details.field): its message goes under it

// Per endpoint, what the console shows besides the API's list, so that drawing the list again keeps it: the last test
// event's result, and the delivery log opened (forgotten at logout).
const webhookDesk = { tests: new Map(), logId: null, log: null };

function forgetWebhooks() {
  webhookDesk.tests.clear();
  Object.assign(webhookDesk, { logId: null, log: null });
  hideWebhookSecret();
  $("webhook-list").replaceChildren();
  resetWebhookForm();
}

function eventWords(type) {
  const key = `webhooks.event.${type}`;
  return state.strings[state.lang]?.[key] ? t(key) : type;
}

async function showWebhooks() {
  const { items } = await api("GET", "v1/webhooks");
  if (webhookDesk.logId && !items.some((hook) => hook.webhook_id === webhookDesk.logId)) webhookDesk.logId = null;
  const armed = armedKeys("webhook-list");
  // each row's test result is a live region: the same node moves to the row drawn again, so what it says next is read
  const results = new Map(
    [...$("webhook-list").querySelectorAll(".webhook-test-result")].map((node) => [node.dataset.webhookId, node]),
  );
  $("webhook-list").replaceChildren(...items.map((hook) => webhookRow(hook, armed, results)));
  $("webhooks-empty").hidden = items.length > 0;
  renderEventChoices();
}

// One endpoint: where it sends, its state in words (never colour alone), what it sends, how delivery has gone, and
// its four actions.
function webhookRow(hook, armed, results) {
  const status = hook.status === "disabled" ? "disabled" : "active";
  const row = el("li", { className: `row-item webhook ${status}`, attrs: { "data-webhook-id": hook.webhook_id } }, [
    el("strong", { className: "webhook-url", text: hook.url }),
    el("span", { className: `badge webhook-${status}`, text: t(`webhooks.status.${status}`) }),
  ]);
  if (hook.include_image_links) row.append(el("span", { className: "badge", text: t("webhooks.images_on") }));
  const events = new Intl.ListFormat(locale(), { type: "conjunction" }).format(hook.events.map(eventWords));
  row.append(el("p", { text: t("webhooks.events_of", { events }) }));
  row.append(...webhookHealth(hook));
  const key = (action) => `webhook:${action}:${hook.webhook_id}`;
  const test = el("button", { text: t("webhooks.test"), attrs: { type: "button", "data-action": "test" } });
  test.addEventListener("click", () => sendTestEvent(hook.webhook_id, test));
  const open = webhookDesk.logId === hook.webhook_id;
  const logId = `log-${hook.webhook_id}`;
  const log = el("button", {
    text: t("webhooks.log"),
    attrs: { type: "button", "data-action": "log", "aria-expanded": String(open) },
  });
  if (open) log.setAttribute("aria-controls", logId); // only while the log is in the page
  log.addEventListener("click", () =>
    toggleDeliveryLog(hook.webhook_id).catch((error) => showStatus(errorText(error), "error")),
  );
  const rotateKey = key("rotate");
  const rotate = confirmButton(t("webhooks.rotate"), () => rotateWebhookSecret(hook), rotateKey, armed.has(rotateKey));
  const hintId = `rotate-hint-${hook.webhook_id}`;
  const rotateHint = el("p", { className: "hint", text: t("webhooks.rotate_hint"), attrs: { id: hintId } });
  rotate.setAttribute("aria-describedby", hintId);
  rotate.dataset.action = "rotate";
  rotateHint.hidden = !rotate.dataset.armed; // said when the button asks for its second press
  rotate.addEventListener("click", () => (rotateHint.hidden = !rotate.dataset.armed));
  const deleteKey = key("delete");
  const remove = confirmButton(
    t("webhooks.delete"),
    () => deleteWebhook(hook.webhook_id),
    deleteKey,
    armed.has(deleteKey),
  );
  remove.dataset.action = "delete";
  row.append(el("div", { className: "row webhook-actions" }, [test, log, rotate, remove]), rotateHint);
  row.append(testResult(hook.webhook_id, results.get(hook.webhook_id)));
  if (open) row.append(deliveryLog(hook.webhook_id, webhookDesk.log));
  return row;
}

function webhookHealth(hook) {
  const lines = [];
  if (hook.status === "disabled") {
    const since = t("webhooks.disabled_since", { time: formatTime(hook.disabled_at) });
    lines.push(el("p", { className: "webhook-disabled-note", text: since }));
    if (hook.disabled_reason) {
      lines.push(el("p", { className: "muted", text: t("webhooks.reason", { reason: hook.disabled_reason }) }));
    }
  }
  const facts = [];
  if (hook.consecutive_failures > 0) {
    facts.push(tn("webhooks.failures", hook.consecutive_failures, { time: formatTime(hook.failing_since) }));
  }
  facts.push(
    hook.last_success_at
      ? t("webhooks.last_success", { time: formatTime(hook.last_success_at) })
      : t("webhooks.never_succeeded"),
  );
  if (hook.previous_secret_until) {
    facts.push(t("webhooks.previous_secret", { time: formatTime(hook.previous_secret_until) }));
  }
  lines.push(el("p", { className: "muted", text: facts.join(" · ") }));
  return lines;
}

// The last test event's outcome under its endpoint, read out when it arrives (role=status), in `node` if given.
function testResult(webhookId, node = null) {
  const attempt = webhookDesk.tests.get(webhookId);
  const shown = node || el("p", { attrs: { role: "status", "data-webhook-id": webhookId } });
  shown.className = "webhook-test-result";
  if (!attempt) shown.textContent = "";
  else if (attempt === "sending") shown.textContent = t("webhooks.testing");
  else {
    shown.textContent = attempt.ok
      ? t("webhooks.test_ok", { status: String(attempt.status), ms: formatNumber(attempt.latency_ms) })
      : t("webhooks.test_failed", { what: attemptProblem(attempt), ms: formatNumber(attempt.latency_ms) });
    shown.classList.add(attempt.ok ? "ok" : "error");
  }
  return shown;
}

// What went wrong with an attempt, as the receiver or the network said it (the server's words, in English).
function attemptProblem(attempt) {
  const status = attempt.status ? `HTTP ${attempt.status}` : t("webhooks.no_answer");
  return attempt.error ? `${status} (${attempt.error})` : status;
}

function webhookRowOf(webhookId) {
  return $("webhook-list").querySelector(`li[data-webhook-id="${CSS.escape(webhookId)}"]`);
}

async function sendTestEvent(webhookId, button) {
  button.disabled = true;
  webhookDesk.tests.set(webhookId, "sending");
  const result = webhookRowOf(webhookId)?.querySelector(".webhook-test-result");
  if (result) testResult(webhookId, result);
  try {
    webhookDesk.tests.set(webhookId, await api("POST", `v1/webhooks/${enc(webhookId)}/test`));
    if (webhookDesk.logId === webhookId) await loadDeliveryLog(webhookId);
  } catch (error) {
    webhookDesk.tests.delete(webhookId);
    showStatus(errorText(error), "error");
  }
  await showWebhooks().catch((error) => showStatus(errorText(error), "error")); // a success may have re-enabled it
}

async function loadDeliveryLog(webhookId) {
  const { items } = await api("GET", `v1/webhooks/${enc(webhookId)}/deliveries`);
  webhookDesk.log = items;
}

async function toggleDeliveryLog(webhookId) {
  if (webhookDesk.logId === webhookId) {
    Object.assign(webhookDesk, { logId: null, log: null });
  } else {
    await loadDeliveryLog(webhookId);
    webhookDesk.logId = webhookId;
  }
  await showWebhooks();
  if (webhookDesk.logId) $(`log-${webhookId}`)?.querySelector("h5")?.focus();
}

// The last 100 attempts, newest first: each its time, event, attempt number, outcome in words, status and latency.
function deliveryLog(webhookId, items) {
  const entries = (items || []).map(deliveryEntry);
  const list = entries.length
    ? el("ol", { className: "deliveries" }, entries)
    : el("p", { className: "empty", text: t("webhooks.log_empty") });
  return el("div", { className: "delivery-log", attrs: { id: `log-${webhookId}` } }, [
    el("h5", { text: t("webhooks.log_heading"), attrs: { tabindex: "-1" } }),
    list,
  ]);
}

function deliveryEntry(attempt) {
  const outcome = attempt.ok ? "ok" : "failed";
  return el("li", { className: `delivery ${outcome}` }, [
    el("time", { text: formatTime(attempt.attempted_at), attrs: { datetime: attempt.attempted_at } }),
    el("strong", { text: eventWords(attempt.event_type) }),
    el("span", { className: "nowrap", text: t("webhooks.attempt", { n: formatNumber(attempt.attempt) }) }),
    el("span", { className: `badge delivery-${outcome}`, text: t(`webhooks.${attempt.ok ? "delivered" : "failed"}`) }),
    el("span", { className: "nowrap", text: attempt.status ? `HTTP ${attempt.status}` : t("webhooks.no_answer") }),
    el("span", { className: "nowrap", text: t("webhooks.latency", { ms: formatNumber(attempt.latency_ms) }) }),
    ...(attempt.error ? [el("span", { className: "delivery-error", text: attempt.error })] : []),
  ]);
}

async function rotateWebhookSecret(hook) {
  const rotated = await api("POST", `v1/webhooks/${enc(hook.webhook_id)}/rotate`);
  // done: the row drawn again must not keep asking for a second press
  for (const button of webhookRowOf(hook.webhook_id)?.querySelectorAll("button[data-armed]") || []) {
    delete button.dataset.armed;
  }
  showWebhookSecret(rotated);
  await showWebhooks();
}

async function deleteWebhook(webhookId) {
  await api("DELETE", `v1/webhooks/${enc(webhookId)}`);
  webhookDesk.tests.delete(webhookId);
  if ($("webhook-secret").dataset.webhookId === webhookId) hideWebhookSecret();
  await showWebhooks();
  showStatus(t("webhooks.deleted"));
}

// The secret of a created or rotated endpoint, once: in a read-only field to copy, with the warning that it will not
// be shown again, and after a rotation until when the old one still signs.
function showWebhookSecret(issued) {
  $("webhook-secret").dataset.webhookId = issued.webhook_id;
  $("webhook-secret-label").textContent = t("webhooks.secret_label", { url: issued.url });
  $("webhook-secret-value").value = issued.secret;
  const overlap = $("webhook-secret-overlap");
  overlap.hidden = !issued.previous_secret_until;
  overlap.textContent = issued.previous_secret_until
    ? t("webhooks.secret_overlap", { time: formatTime(issued.previous_secret_until) })
    : "";
  $("webhook-secret").hidden = false;
  $("webhook-secret-heading").focus();
}

function hideWebhookSecret() {
  const box = $("webhook-secret");
  box.hidden = true;
  delete box.dataset.webhookId;
  $("webhook-secret-value").value = "";
  $("webhook-secret-label").textContent = "";
}

async function copyWebhookSecret() {
  try {
    await navigator.clipboard.writeText($("webhook-secret-value").value);
    showStatus(t("share.copied"));
  } catch {
    $("webhook-secret-value").select();
  }
}

// One checkbox per event type, each with what it tells; the ticks survive a redraw (a language switch).
function renderEventChoices() {
  const ticked = new Set(chosenEvents());
  $("webhook-event-choices").replaceChildren(
    ...WEBHOOK_EVENTS.map((type) => eventChoice("webhook-event", type, ticked.has(type), true)),
  );
}

// A box for an event type, with its words and what it tells (`prefix` keeps the ids of two such lists apart); a
// webhook's also names the type as its receiver reads it in the payload's "type".
function eventChoice(prefix, type, ticked, named = false) {
  const id = `${prefix}-${type.replace(".", "-")}`;
  const attrs = { type: "checkbox", id, value: type, "aria-describedby": `${id}-about` };
  if (ticked) attrs.checked = "";
  const about = state.strings[state.lang]?.[`webhooks.about.${type}`] ? [t(`webhooks.about.${type}`)] : [];
  if (named) about.push(" ", el("code", { text: type }));
  return el("div", { className: "event-choice" }, [
    el("label", { className: "check" }, [el("input", { attrs }), el("span", { text: eventWords(type) })]),
    el("p", { className: "hint", attrs: { id: `${id}-about` } }, about),
  ]);
}

function chosenEvents() {
  return [...document.querySelectorAll("#webhook-event-choices input:checked")].map((box) => box.value);
}

// The message under the field the API named (each field's aria-describedby names its message too).
function fieldError(field, message) {
  const node = $(`webhook-${field}-error`);
  node.textContent = message || "";
  node.hidden = !message;
  if (field !== "url") return; // the events are a group of boxes: none of them is the invalid one
  if (message) $("webhook-url").setAttribute("aria-invalid", "true");
  else $("webhook-url").removeAttribute("aria-invalid");
}

function resetWebhookForm() {
  $("webhook-form").reset();
  for (const field of WEBHOOK_FIELDS) fieldError(field, "");
}

// The API checks the URL (https, a public address) and the events; its 422 is shown next to the field it names.
async function createWebhook(event) {
  event.preventDefault();
  for (const field of WEBHOOK_FIELDS) fieldError(field, "");
  const body = {
    url: $("webhook-url").value.trim(),
    events: chosenEvents(),
    include_image_links: $("webhook-images").checked,
  };
  try {
    const created = await api("POST", "v1/webhooks", body);
    resetWebhookForm();
    showWebhookSecret(created);
    await showWebhooks();
  } catch (error) {
    const field = error instanceof ApiError && error.code === "validation_error" ? error.details.field : null;
    if (field === "url") {
      fieldError("url", t("webhooks.url_refused", { reason: error.message }));
      $("webhook-url").focus();
    } else if (field === "events") {
      fieldError("events", t("webhooks.events_missing"));
    } else if (error instanceof ApiError && error.code === "conflict" && error.details.limit) {
      showStatus(t("webhooks.limit", { n: formatNumber(error.details.limit) }), "error");
    } else {
      showStatus(errorText(error), "error");
    }
  }
}

// ---- e-mail alerts (issue 16 §5): which events the contract's registered address is mailed, at this owner's choice

async function showMailAlerts() {
  renderMailAlerts(await api("GET", "v1/alerts/mail"));
  $("alerts-saved").textContent = "";
}

// One box per type the API makes available (camera.offline and device.event), ticked as this owner chose.
function renderMailAlerts(choice) {
  const chosen = new Set(choice.events);
  $("alert-choices").replaceChildren(...choice.available.map((type) => eventChoice("alert", type, chosen.has(type))));
}

async function saveMailAlerts(event) {
  event.preventDefault();
  const events = [...document.querySelectorAll("#alert-choices input:checked")].map((box) => box.value);
  try {
    const saved = await api("PUT", "v1/alerts/mail", { events });
    renderMailAlerts(saved);
    $("alerts-saved").textContent = t(saved.events.length ? "alerts.saved" : "alerts.saved_none");
  } catch (error) {
    showStatus(errorText(error), "error");
  }
}

function wireWebhooks() {
  $("webhook-form").addEventListener("submit", createWebhook);
  $("webhook-secret-copy").addEventListener("click", copyWebhookSecret);
  $("webhook-secret-done").addEventListener("click", hideWebhookSecret);
}

// ---------------------------------------------------------------- start

function toggleLanguage() {
  state.lang = state.lang === "ja" ? "en" : "ja";
  localStorage.setItem(LANG_KEY, state.lang);
  applyStaticText();
  renderNotices();
  if (state.me) applyRights();
  if (state.token) route();
}

function wire() {
  $("login-form").addEventListener("submit", login);
  $("password-form").addEventListener("submit", changePassword);
  $("logout").addEventListener("click", logout);
  $("lang-toggle").addEventListener("click", toggleLanguage);
  $("notices-toggle").addEventListener("click", toggleNotices);
  $("menu-toggle").addEventListener("click", toggleMenu);
  $("nav").addEventListener("click", (event) => event.target.closest("a") && closeMenu()); // also the current page
  document.addEventListener("keydown", (event) => event.key === "Escape" && closeMenu());
  $("tz-toggle").addEventListener("click", toggleZone);
  $("date-chip").addEventListener("click", () => showFilters($("filter-form").hidden));
  $("filter-day").addEventListener("change", onDayPicked);
  $("daybar").addEventListener("click", onDayBarClick);
  $("daybar").addEventListener("keydown", onDayBarKey);
  $("invite-form").addEventListener("submit", invite);
  $("invite-copy").addEventListener("click", copyInvitation);
  $("export-form").addEventListener("submit", requestExport);
  $("access-more").addEventListener("click", () =>
    showAccessLog($("access-more").dataset.cursor).catch((error) => showStatus(errorText(error), "error")),
  );
  document.addEventListener("visibilitychange", onVisibilityChange);
  $("filter-form").addEventListener("submit", applyFilters);
  $("filter-clear").addEventListener("click", clearFilters);
  $("load-more").addEventListener("click", onLoadMore);
  $("frame-prev").addEventListener("click", () => step(1));
  $("frame-next").addEventListener("click", () => step(-1));
  $("note-form").addEventListener("submit", addNote);
  $("purposes-form").addEventListener("submit", savePurposes);
  $("share-form").addEventListener("submit", createShare);
  $("share-copy").addEventListener("click", copyShare);
  wireRequests();
  wireWebhooks();
  $("alerts-form").addEventListener("submit", saveMailAlerts);
  const image = $("frame-image");
  image.addEventListener("touchstart", onTouchStart, { passive: true });
  image.addEventListener("touchend", onTouchEnd, { passive: true });
  $("frame-video").addEventListener("error", onClipError); // no swipes on the clip: they would fight its scrubber
  document.addEventListener("keydown", onKey);
  window.addEventListener("hashchange", () => {
    showStatus("");
    closeMenu();
    $("notices-list").hidden = true; // a read notice should not push every later page down
    $("notices-toggle").setAttribute("aria-expanded", "false");
    route();
  });
}

async function start() {
  const response = await fetch("assets/i18n.json");
  state.strings = await response.json();
  state.lang = pickLanguage();
  state.tz = pickTimeZone();
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
