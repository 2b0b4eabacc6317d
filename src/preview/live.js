// Added by `ankideck preview --watch` to each page it serves: asks the server for the
// next change (the request waits until there is one), reloads the page when the site
// was written anew, and shows the problems of a broken save over the last good cards.
(function () {
  const site = __SITE__;
  // The first request is answered at once, with the problems to show now.
  let seen = -1;
  function show(problems) {
    let box = document.getElementById("ankideck-live-problems");
    if (!problems) {
      if (box) box.remove();
      return;
    }
    if (!box) {
      box = document.createElement("div");
      box.id = "ankideck-live-problems";
      box.setAttribute("role", "alert");
      box.style.cssText = "position:fixed;left:0;right:0;bottom:0;max-height:50vh;overflow:auto;z-index:2147483647;margin:0;padding:.6em 1em;background:#fff3f3;color:#111;border-top:3px solid #c62828;font:13px/1.4 monospace;white-space:pre-wrap";
      document.body.appendChild(box);
    }
    box.textContent = problems;
  }
  async function poll() {
    for (;;) {
      try {
        const response = await fetch("/_ankideck/changes?since=" + seen, { cache: "no-store" });
        const state = await response.json();
        if (state.site !== site) {
          location.reload();
          return;
        }
        seen = state.revision;
        show(state.problems);
      } catch (e) {
        // The server stopped or restarts: try again in a moment.
        await new Promise((done) => setTimeout(done, 1000));
      }
    }
  }
  poll();
})();
