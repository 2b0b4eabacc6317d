// The night-mode and phone-width switches, frames fitted to their cards, and
// `index.html#FILE:LINE` sent on to the note's page.
(function () {
  if (pages && location.hash) {
    const target = decodeURIComponent(location.hash.slice(1));
    const file = target.replace(/:\d+$/, "");
    if (pages[file]) {
      location.replace(pages[file] + "#" + encodeURIComponent(target).replace(/%2F/g, "/").replace(/%3A/g, ":"));
      return;
    }
  }
  const night = document.getElementById("night");
  const phone = document.getElementById("phone");
  const stored = (key) => { try { return localStorage.getItem(key) === "1"; } catch (e) { return false; } };
  const store = (key, on) => { try { localStorage.setItem(key, on ? "1" : "0"); } catch (e) { /* private mode */ } };
  // `?night=1&phone=1` (or 0) sets the switches, else they are as last left.
  const query = new URLSearchParams(location.search);
  const initial = (key) => (query.has(key) ? query.get(key) === "1" : stored("ankideck-" + key));
  if (night) night.checked = initial("night");
  if (phone) phone.checked = initial("phone");
  const fit = (frame) => {
    const doc = frame.contentDocument;
    if (!doc || !doc.documentElement) return;
    // The height of the content, not of the frame's viewport (which never shrinks).
    const height = Math.ceil(doc.documentElement.getBoundingClientRect().height) + "px";
    if (frame.style.height !== height) frame.style.height = height;
  };
  const dress = (frame) => {
    const body = frame.contentDocument && frame.contentDocument.body;
    if (!body) return;
    const on = !!(night && night.checked);
    body.classList.toggle("nightMode", on);
    body.classList.toggle("night_mode", on);
    fit(frame);
  };
  const frames = () => Array.from(document.querySelectorAll("iframe.side"));
  const apply = () => {
    document.body.classList.toggle("night", !!(night && night.checked));
    document.body.classList.toggle("phone", !!(phone && phone.checked));
    frames().forEach(dress);
  };
  const watch = (frame) => {
    dress(frame);
    const doc = frame.contentDocument;
    if (!doc) return;
    // Images and fonts that arrive later change the card's height.
    doc.querySelectorAll("img").forEach((img) => img.addEventListener("load", () => fit(frame)));
    if (doc.fonts) doc.fonts.ready.then(() => fit(frame));
  };
  window.addEventListener("resize", () => frames().forEach(fit));
  // The frames above a `#FILE:LINE` note grow as they load: go to the note once they have.
  window.addEventListener("load", () => {
    frames().forEach(fit);
    const target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (target) target.scrollIntoView();
  });
  frames().forEach((frame) => {
    frame.addEventListener("load", () => watch(frame));
    if (frame.contentDocument && frame.contentDocument.readyState === "complete") watch(frame);
  });
  if (night) night.addEventListener("change", () => { store("ankideck-night", night.checked); apply(); });
  if (phone) phone.addEventListener("change", () => { store("ankideck-phone", phone.checked); apply(); });
  apply();
})();
