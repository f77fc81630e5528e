// 共治 Gongzhi — the only script: keeps a live list fresh. Pages work without it.
"use strict";
document.querySelectorAll("[data-stream]").forEach((box) => {
  if (!window.EventSource) return;
  const tbody = box.querySelector("tbody");
  const live = document.getElementById("live");
  let pending = null;
  const refresh = async () => {
    pending = null;
    const reply = await fetch(box.dataset.rows, { credentials: "same-origin" });
    if (reply.ok && tbody) tbody.innerHTML = await reply.text();
  };
  const source = new EventSource(box.dataset.stream);
  source.addEventListener("open", () => { if (live) live.hidden = false; });
  source.addEventListener("error", () => { if (live) live.hidden = true; });
  source.addEventListener("changed", () => {
    // Several changes in a burst become one refresh.
    if (!pending) pending = setTimeout(refresh, 250);
  });
});
