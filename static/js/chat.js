// The live chat: one websocket per page (/ws/chat/), with a polling fallback.
// Pages work without this file (plain form posts); it makes them live:
// new messages, typing, receipts, presence, and the inbox list re-ordering.
// Protocol and ordering rules: docs/realtime.md.
(() => {
  "use strict";

  const thread = document.getElementById("thread");
  const inbox = document.getElementById("inbox");
  const chatList = document.getElementById("chat-list");
  if (!thread && !inbox && !chatList) return;

  const HEARTBEAT_MS = 30000;
  const POLL_MS = 4000;
  const TYPING_SEND_MS = 3000;
  const TYPING_SHOW_MS = 5000;

  const t = (key) => (thread ? thread.dataset["t" + key] || "" : "");
  const conversationId = thread ? Number(thread.dataset.conversation) : null;
  const me = thread ? thread.dataset.me : null;
  let lastSeq = thread ? Number(thread.dataset.lastSeq) : 0;
  let otherRead = thread ? Number(thread.dataset.otherRead) : 0;
  let otherDelivered = thread ? Number(thread.dataset.otherDelivered) : 0;
  const list = document.getElementById("messages");
  const composer = document.getElementById("composer");
  const textarea = composer ? composer.querySelector("textarea[name=body]") : null;
  const errorBox = document.getElementById("composer-error");
  const liveNote = document.getElementById("live-note");
  const inboxSlug = (inbox && inbox.dataset.inbox) || (thread && thread.dataset.inbox) || null;

  let socket = null;
  let socketOpen = false;
  let retry = 0;
  let pollTimer = null;
  let heartbeat = null;
  let lastTypingSent = 0;
  let typingTimer = null;
  const pending = new Map(); // client_id -> {body, element}

  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function newClientId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return String(Date.now()) + "-" + String(Math.random()).slice(2);
  }

  // --- Messages ----------------------------------------------------------------------

  function statusFor(seq) {
    if (seq <= otherRead) return "read";
    if (seq <= otherDelivered) return "delivered";
    return "sent";
  }

  function paintStatus(item) {
    if (!item.classList.contains("mine")) return;
    const seq = Number(item.dataset.seq);
    const el = item.querySelector(".msg-status");
    if (!el || !seq) return;
    const status = statusFor(seq);
    if (el.dataset.status !== status) {
      el.dataset.status = status;
      el.textContent = t(status.charAt(0).toUpperCase() + status.slice(1));
    }
  }

  // The ticks are aria-hidden (a changing receipt inside the log would be read again);
  // this line outside the log says where the viewer's last message is.
  const receiptSummary = document.getElementById("receipt-summary");

  function summarizeReceipts() {
    if (!receiptSummary || !list) return;
    const mine = list.querySelectorAll(".msg.mine .msg-status[data-status]");
    const last = mine[mine.length - 1];
    receiptSummary.textContent = last ? `${t("Receipt")} ${last.textContent}` : "";
  }

  function paintAllStatuses() {
    if (!list) return;
    list.querySelectorAll(".msg.mine").forEach(paintStatus);
    summarizeReceipts();
  }

  function addMessage(html, data) {
    if (!list) return false;
    if (data.seq <= lastSeq || document.getElementById("msg-" + data.seq)) return false;
    const holder = document.createElement("template");
    holder.innerHTML = html.trim();
    const item = holder.content.firstElementChild;
    if (!item) return false;
    if (item.dataset.side === me) item.classList.add("mine");
    if (data.client_id && pending.has(data.client_id)) {
      pending.get(data.client_id).element.remove();
      pending.delete(data.client_id);
    }
    list.appendChild(item);
    lastSeq = data.seq;
    paintStatus(item);
    summarizeReceipts();
    const empty = document.getElementById("empty-thread");
    if (empty) empty.remove();
    item.scrollIntoView({ block: "end" });
    return item.dataset.side !== me;
  }

  // A message already shown changed (a payment request's status): swap it in place.
  function onMessageUpdated(frame) {
    if (frame.conversation !== conversationId || !list) return;
    const existing = document.getElementById("msg-" + frame.message.seq);
    if (!existing) return;
    const holder = document.createElement("template");
    holder.innerHTML = frame.html.trim();
    const item = holder.content.firstElementChild;
    if (!item) return;
    if (item.dataset.side === me) item.classList.add("mine");
    existing.replaceWith(item);
    paintStatus(item);
  }

  function onMessage(frame) {
    if (frame.conversation !== conversationId) return;
    const seq = frame.message.seq;
    if (seq > lastSeq + 1) {
      // A gap (an event overtook another): fetch everything after what we have, in order.
      send({ type: "sync", conversation: conversationId, after: lastSeq });
      return;
    }
    const fromOther = addMessage(frame.html, frame.message);
    if (fromOther) acknowledge();
  }

  function acknowledge() {
    if (!socketOpen) {
      if (document.visibilityState === "visible") postRead();
      return;
    }
    const kind = document.visibilityState === "visible" ? "read" : "delivered";
    send({ type: kind, conversation: conversationId, seq: lastSeq });
  }

  function postRead() {
    const body = new FormData();
    body.append("seq", String(lastSeq));
    fetch(thread.dataset.readUrl, {
      method: "POST",
      body,
      headers: { "X-CSRFToken": csrfToken() },
      credentials: "same-origin",
    }).catch(() => {});
  }

  document.addEventListener("visibilitychange", () => {
    if (thread && document.visibilityState === "visible") acknowledge();
  });

  // --- Sending -----------------------------------------------------------------------

  function showError(text) {
    if (errorBox) errorBox.textContent = text || "";
  }

  function addPending(clientId, body) {
    if (!list) return;
    const item = document.createElement("li");
    item.className = "msg msg-kind-text mine pending";
    item.dataset.clientId = clientId;
    const bubble = document.createElement("div");
    bubble.className = "msg-bubble";
    const p = document.createElement("p");
    p.className = "msg-text";
    p.textContent = body;
    const meta = document.createElement("p");
    meta.className = "msg-meta";
    const status = document.createElement("span");
    status.className = "msg-status";
    status.setAttribute("aria-hidden", "true");
    status.dataset.status = "sending";
    status.textContent = t("Sending");
    meta.appendChild(status);
    bubble.append(p, meta);
    item.appendChild(bubble);
    list.appendChild(item);
    item.scrollIntoView({ block: "end" });
    pending.set(clientId, { body, element: item });
  }

  function dropPending(clientId) {
    const entry = pending.get(clientId);
    if (!entry) return;
    entry.element.remove();
    pending.delete(clientId);
    if (textarea && !textarea.value) textarea.value = entry.body;
  }

  if (composer && textarea) {
    composer.addEventListener("submit", async (event) => {
      const file = composer.querySelector("input[type=file]");
      const product = composer.querySelector("input[name=product]");
      if ((file && file.files.length) || product) return; // photos and product cards: a normal post
      event.preventDefault();
      expandBareShortcuts();
      const body = textarea.value.trim();
      if (!body) {
        showError(composer.dataset.empty || "");
        textarea.focus();
        return;
      }
      showError("");
      const clientId = newClientId();
      const idField = composer.querySelector("input[name=client_id]");
      if (idField) idField.value = clientId;
      addPending(clientId, body);
      textarea.value = "";
      if (socketOpen) {
        send({ type: "send", conversation: conversationId, client_id: clientId, body });
        return;
      }
      const data = new FormData(composer);
      data.set("body", body);
      try {
        const response = await fetch(composer.action, {
          method: "POST",
          body: data,
          headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
          credentials: "same-origin",
        });
        const reply = await response.json().catch(() => ({}));
        if (!response.ok) throw new Error((reply.error && reply.error.message) || response.statusText);
        poll();
      } catch (error) {
        dropPending(clientId);
        showError(error.message);
      }
    });

    textarea.addEventListener("keydown", (event) => {
      if (quickMenuKey(event)) return;
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        composer.requestSubmit();
      }
    });

    textarea.addEventListener("input", () => {
      updateQuickMenu();
      const now = Date.now();
      if (socketOpen && now - lastTypingSent > TYPING_SEND_MS) {
        lastTypingSent = now;
        send({ type: "typing", conversation: conversationId });
      }
    });
  }

  // --- Quick replies ---------------------------------------------------------------------
  // Typing "/" at the start of a word opens the list of the business's quick replies
  // (a listbox the textarea controls), filtered as the shortcut is typed. Arrow keys
  // move, Enter or Tab (or a tap) puts the saved text in place of "/shortcut", Escape
  // closes. A known "/shortcut" left in the message is expanded before sending, so the
  // customer never receives the bare shortcut.
  const quickMenu = document.getElementById("quick-replies");
  const quickItems = quickMenu ? Array.from(quickMenu.querySelectorAll("[data-shortcut]")) : [];
  let quickActive = -1;

  function quickToken() {
    // The "/word" that ends at the caret, if any: {start, query}.
    if (!textarea) return null;
    const caret = textarea.selectionStart === textarea.selectionEnd ? textarea.selectionEnd : -1;
    if (caret < 0) return null;
    const match = textarea.value.slice(0, caret).match(/(^|\s)\/([a-z0-9_-]*)$/i);
    if (!match) return null;
    return { start: caret - match[2].length - 1, end: caret, query: match[2].toLowerCase() };
  }

  function visibleQuickItems() {
    return quickItems.filter((item) => !item.hidden);
  }

  function setQuickActive(index) {
    const shown = visibleQuickItems();
    quickActive = shown.length ? (index + shown.length) % shown.length : -1;
    quickItems.forEach((item) => item.setAttribute("aria-selected", "false"));
    const active = shown[quickActive];
    if (active) {
      active.setAttribute("aria-selected", "true");
      textarea.setAttribute("aria-activedescendant", active.id);
      active.scrollIntoView({ block: "nearest" });
    } else {
      textarea.removeAttribute("aria-activedescendant");
    }
  }

  function closeQuickMenu() {
    if (!quickMenu) return;
    quickMenu.hidden = true;
    textarea.setAttribute("aria-expanded", "false");
    textarea.removeAttribute("aria-activedescendant");
    quickActive = -1;
  }

  function updateQuickMenu() {
    if (!quickMenu || !quickItems.length) return;
    const token = quickToken();
    if (!token) return closeQuickMenu();
    let shown = 0;
    for (const item of quickItems) {
      item.hidden = !item.dataset.shortcut.startsWith(token.query);
      if (!item.hidden) shown += 1;
    }
    if (!shown) return closeQuickMenu();
    quickMenu.hidden = false;
    textarea.setAttribute("aria-expanded", "true");
    setQuickActive(0);
  }

  function insertQuickReply(item) {
    const token = quickToken();
    if (!item || !token) return closeQuickMenu();
    const text = item.dataset.text;
    const value = textarea.value;
    textarea.value = value.slice(0, token.start) + text + value.slice(token.end);
    const caret = token.start + text.length;
    textarea.setSelectionRange(caret, caret);
    closeQuickMenu();
    textarea.focus();
  }

  function quickMenuKey(event) {
    // Handles the key when the menu is open; true when it did.
    if (!quickMenu || quickMenu.hidden || event.isComposing) return false;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      setQuickActive(quickActive + (event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "Enter" || event.key === "Tab") {
      insertQuickReply(visibleQuickItems()[quickActive]);
    } else if (event.key === "Escape") {
      closeQuickMenu();
    } else {
      return false;
    }
    event.preventDefault();
    return true;
  }

  function expandBareShortcuts() {
    if (!quickItems.length) return;
    const texts = new Map(quickItems.map((item) => [item.dataset.shortcut, item.dataset.text]));
    textarea.value = textarea.value.replace(/(^|\s)\/([a-z0-9_-]+)(?=\s|$)/gi, (whole, space, name) =>
      texts.has(name.toLowerCase()) ? space + texts.get(name.toLowerCase()) : whole,
    );
    closeQuickMenu();
  }

  if (quickMenu && textarea) {
    quickItems.forEach((item) => {
      // mousedown, not click: the textarea keeps its focus and caret.
      item.addEventListener("mousedown", (event) => {
        event.preventDefault();
        insertQuickReply(item);
      });
    });
    textarea.addEventListener("click", updateQuickMenu);
    textarea.addEventListener("blur", () => setTimeout(closeQuickMenu, 150));
  }

  // --- Typing and presence -------------------------------------------------------------

  function showTyping() {
    const el = document.getElementById("typing");
    if (!el) return;
    el.textContent = t("Typing");
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => (el.textContent = ""), TYPING_SHOW_MS);
  }

  function showPresence(online) {
    const el = document.getElementById("presence");
    if (!el) return;
    el.dataset.online = online ? "1" : "";
    el.textContent = online ? t("Online") : "";
  }

  // --- Lists (inbox and "my chats") ------------------------------------------------------

  async function refreshInboxRow(id) {
    const rows = document.getElementById("inbox-rows");
    if (!rows || !inbox) return;
    const existing = document.getElementById("row-" + id);
    if (!existing && inbox.dataset.filtered) return; // may not match the filters
    const url = inbox.dataset.rowUrl + id + "/row/?current=" + (inbox.dataset.current || "");
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) {
      if (existing && response.status === 404) existing.remove();
      return;
    }
    const holder = document.createElement("template");
    holder.innerHTML = (await response.text()).trim();
    const row = holder.content.firstElementChild;
    if (!row) return;
    if (existing) existing.remove();
    const empty = document.getElementById("inbox-empty");
    if (empty) empty.remove();
    rows.prepend(row);
  }

  // Many rows changed at once (a broadcast going out): the first page of the list is
  // fetched whole, one request at a time, instead of a request per row.
  const ROWS_ONE_BY_ONE = 5;
  let listRefresh = null;
  let listStale = false;

  async function refreshInbox(ids) {
    if (listRefresh) {
      listStale = true;
      return;
    }
    if (ids && ids.length <= ROWS_ONE_BY_ONE) {
      ids.forEach(refreshInboxRow);
      return;
    }
    do {
      listStale = false;
      listRefresh = refreshInboxList();
      await listRefresh;
      listRefresh = null;
    } while (listStale);
  }

  // A list read again from the server: the same element of a fresh copy of this page,
  // with the moment it was read (the next subscription's `since`).
  async function repaintList(id) {
    const current = document.getElementById(id);
    if (!current) return;
    try {
      const response = await fetch(window.location.href, { credentials: "same-origin" });
      if (!response.ok) return;
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = doc.getElementById(id);
      if (fresh) {
        current.innerHTML = fresh.innerHTML;
        current.dataset.since = fresh.dataset.since;
      }
    } catch {
      // offline for a moment: the next update or the reconnect's resync repaints it
    }
  }

  const refreshInboxList = () => repaintList("inbox-rows");
  const refreshChatList = () => repaintList("chat-list");

  // When the list on the page was read (ms since the epoch), as the server wrote it.
  function listSince(id) {
    const element = document.getElementById(id);
    const since = element ? Number(element.dataset.since) : NaN;
    return Number.isInteger(since) && since > 0 ? since : undefined;
  }

  // --- The socket ----------------------------------------------------------------------

  function send(frame) {
    if (socketOpen) socket.send(JSON.stringify(frame));
  }

  function connect() {
    if (!("WebSocket" in window)) {
      startPolling();
      return;
    }
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    const path = (thread && thread.dataset.wsPath) || "/ws/chat/";
    socket = new WebSocket(scheme + window.location.host + path);
    socket.addEventListener("open", () => {
      socketOpen = true;
      retry = 0;
      stopPolling();
      if (thread) send({ type: "subscribe", conversation: conversationId, after: lastSeq });
      // Lists say when they were read: what moved before the subscription is re-read.
      if (inboxSlug) {
        send({ type: "subscribe_inbox", business: inboxSlug, since: listSince("inbox-rows") });
      }
      if (chatList) send({ type: "subscribe_list", since: listSince("chat-list") });
      clearInterval(heartbeat);
      heartbeat = setInterval(() => send({ type: "ping" }), HEARTBEAT_MS);
    });
    socket.addEventListener("message", (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      handle(frame);
    });
    socket.addEventListener("close", () => {
      socketOpen = false;
      if (thread) thread.dataset.live = "off";
      if (inbox) inbox.dataset.live = "off";
      clearInterval(heartbeat);
      startPolling();
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 500 * 2 ** retry);
    });
  }

  function handle(frame) {
    switch (frame.type) {
      case "subscribed":
        // Live from here on (typing, receipts): what tests and styles can wait for.
        if (frame.conversation === conversationId) thread.dataset.live = "on";
        if (frame.conversation === conversationId && frame.other) {
          otherRead = Math.max(otherRead, frame.other.read);
          otherDelivered = Math.max(otherDelivered, frame.other.delivered);
          paintAllStatuses();
          showPresence(frame.other.online);
        }
        break;
      case "subscribed_inbox":
        if (frame.stale) refreshInbox(null);
        inbox.dataset.live = "on";
        break;
      case "subscribed_list":
        if (frame.stale && chatList) refreshChatList();
        break;
      case "message":
        onMessage(frame);
        break;
      case "message_updated":
        onMessageUpdated(frame);
        break;
      case "ack":
        showError("");
        break;
      case "error":
        if (frame.client_id) dropPending(frame.client_id);
        showError(frame.message);
        break;
      case "receipt":
        if (frame.conversation === conversationId && frame.side !== me) {
          otherRead = Math.max(otherRead, frame.read);
          otherDelivered = Math.max(otherDelivered, frame.delivered);
          paintAllStatuses();
        }
        break;
      case "typing":
        if (frame.conversation === conversationId && frame.side !== me) showTyping();
        break;
      case "presence":
        if (thread && frame.side === thread.dataset.other) showPresence(frame.online);
        break;
      case "inbox":
        refreshInbox(frame.conversations || []);
        break;
      case "user":
        if (chatList) refreshChatList();
        break;
      case "reload":
        window.location.reload();
        break;
      default:
        break;
    }
  }

  // --- Polling fallback ------------------------------------------------------------------

  async function poll() {
    if (!thread) return;
    try {
      const response = await fetch(thread.dataset.pollUrl + "?after=" + lastSeq, {
        credentials: "same-origin",
      });
      if (!response.ok) return;
      const holder = document.createElement("template");
      holder.innerHTML = await response.text();
      let fromOther = false;
      holder.content.querySelectorAll("li.msg").forEach((item) => {
        const data = { seq: Number(item.dataset.seq), client_id: item.dataset.clientId };
        fromOther = addMessage(item.outerHTML, data) || fromOther;
      });
      if (fromOther) acknowledge();
    } catch {
      /* offline: the next tick tries again */
    }
  }

  function startPolling() {
    if (pollTimer || !thread) return;
    if (liveNote) liveNote.textContent = t("OfflineMode");
    pollTimer = setInterval(poll, POLL_MS);
  }

  function stopPolling() {
    clearInterval(pollTimer);
    pollTimer = null;
    if (liveNote) liveNote.textContent = "";
  }

  paintAllStatuses();
  if (list && list.lastElementChild) list.lastElementChild.scrollIntoView({ block: "end" });
  connect();
})();
