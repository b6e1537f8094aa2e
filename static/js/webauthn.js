// Fingerprints (WebAuthn) without inline scripts (the site's CSP allows none).
//
// Registration: a form with data-webauthn-register and data-options-url. On submit it
// POSTs for creation options, calls navigator.credentials.create, and POSTs
// {name, credential: credential.toJSON()} to the form's action; the answer is
// {ok, redirect} or {error, code}. Messages come from the form's data-* attributes.
//
// Other pages (paying) reuse window.conversaWebAuthn:
//   const options = await conversaWebAuthn.postJSON(url, body, csrfToken);
//   const assertion = await conversaWebAuthn.getAssertion(options);  // credential.toJSON()
(() => {
  "use strict";

  const b64urlToBuffer = (text) => {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    const binary = atob(padded);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  };

  const bufferToB64url = (buffer) => {
    const bytes = new Uint8Array(buffer);
    let binary = "";
    for (let i = 0; i < bytes.length; i += 1) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };

  const supported = () =>
    Boolean(window.PublicKeyCredential && navigator.credentials && window.isSecureContext);

  // Older browsers lack parse*OptionsFromJSON and toJSON(): convert by hand.
  const creationOptions = (json) => {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    return {
      ...json,
      challenge: b64urlToBuffer(json.challenge),
      user: { ...json.user, id: b64urlToBuffer(json.user.id) },
      excludeCredentials: (json.excludeCredentials || []).map((c) => ({
        ...c,
        id: b64urlToBuffer(c.id),
      })),
    };
  };

  const requestOptions = (json) => {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    return {
      ...json,
      challenge: b64urlToBuffer(json.challenge),
      allowCredentials: (json.allowCredentials || []).map((c) => ({
        ...c,
        id: b64urlToBuffer(c.id),
      })),
    };
  };

  const credentialToJSON = (credential) => {
    if (typeof credential.toJSON === "function") return credential.toJSON();
    const r = credential.response;
    const response = { clientDataJSON: bufferToB64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = bufferToB64url(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = bufferToB64url(r.authenticatorData);
      response.signature = bufferToB64url(r.signature);
      response.userHandle = r.userHandle ? bufferToB64url(r.userHandle) : null;
    }
    return {
      id: credential.id,
      rawId: bufferToB64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults(),
      response,
    };
  };

  class ServerError extends Error {
    constructor(message, code) {
      super(message);
      this.code = code;
    }
  }

  // POST JSON with Django's CSRF token; resolves to the JSON answer or throws a
  // ServerError carrying the server's message.
  const postJSON = async (url, body, csrfToken) => {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": csrfToken,
      },
      body: JSON.stringify(body || {}),
    });
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok || !data) {
      throw new ServerError((data && data.error) || "", (data && data.code) || "http_error");
    }
    return data;
  };

  const createCredential = async (optionsJSON) => {
    const credential = await navigator.credentials.create({
      publicKey: creationOptions(optionsJSON),
    });
    return credentialToJSON(credential);
  };

  const getAssertion = async (optionsJSON) => {
    const credential = await navigator.credentials.get({ publicKey: requestOptions(optionsJSON) });
    return credentialToJSON(credential);
  };

  const show = (el, text, isError) => {
    if (!el) return;
    el.hidden = !text;
    el.textContent = text || "";
    el.classList.toggle("flash", Boolean(text));
    el.classList.toggle("flash-error", Boolean(isError));
    el.setAttribute("role", isError ? "alert" : "status");
  };

  // DOMException names for a prompt the user dismissed or that timed out.
  const CANCELED = new Set(["NotAllowedError", "AbortError"]);

  const register = async (form) => {
    const status = form.querySelector("[data-webauthn-status]");
    const button = form.querySelector("button[type=submit]");
    const messages = form.dataset;
    if (!supported()) {
      show(status, messages.unsupported, true);
      return;
    }
    const csrfToken = form.querySelector("[name=csrfmiddlewaretoken]").value;
    const nameInput = form.querySelector("[name=name]");
    if (button) button.disabled = true;
    show(status, messages.working, false);
    try {
      const options = await postJSON(messages.optionsUrl, {}, csrfToken);
      const credential = await createCredential(options);
      const answer = await postJSON(
        form.action,
        { name: nameInput ? nameInput.value : "", credential },
        csrfToken,
      );
      window.location.assign(answer.redirect || window.location.href);
    } catch (error) {
      let text = messages.failed;
      if (error instanceof ServerError && error.message) text = error.message;
      else if (error && CANCELED.has(error.name)) text = messages.canceled;
      show(status, text, true);
      if (button) button.disabled = false;
    }
  };

  document.addEventListener("submit", (event) => {
    const form = event.target.closest("form[data-webauthn-register]");
    if (!form) return;
    event.preventDefault();
    register(form);
  });

  window.conversaWebAuthn = {
    supported,
    postJSON,
    createCredential,
    getAssertion,
    ServerError,
  };
})();
