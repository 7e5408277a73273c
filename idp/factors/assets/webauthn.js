// Runs the WebAuthn ceremony of Porta's passkey forms:
//   <form data-webauthn="create|get" data-options="{…JSON from the server…}" data-failed="message">
// Submitting the form asks the browser for a credential, puts the result (as JSON, the shape
// @simplewebauthn/server reads) in the hidden `credential` field and submits the form for real.
// Served as a file so the pages keep a Content-Security-Policy of script-src 'self'.
/* global atob, btoa, document, window, navigator */
(function () {
  'use strict';
  function toBuffer(text) {
    var s = text.replace(/-/g, '+').replace(/_/g, '/');
    while (s.length % 4) s += '=';
    var binary = atob(s);
    var out = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i += 1) out[i] = binary.charCodeAt(i);
    return out.buffer;
  }
  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = '';
    for (var i = 0; i < bytes.length; i += 1) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  function withIds(list) {
    return (list || []).map(function (c) { return Object.assign({}, c, { id: toBuffer(c.id) }); });
  }
  function creation(o) {
    return Object.assign({}, o, { challenge: toBuffer(o.challenge), user: Object.assign({}, o.user, { id: toBuffer(o.user.id) }), excludeCredentials: withIds(o.excludeCredentials) });
  }
  function request(o) {
    return Object.assign({}, o, { challenge: toBuffer(o.challenge), allowCredentials: withIds(o.allowCredentials) });
  }
  function registrationJson(credential) {
    var r = credential.response;
    return {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      response: { clientDataJSON: toText(r.clientDataJSON), attestationObject: toText(r.attestationObject), transports: r.getTransports ? r.getTransports() : [] },
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
    };
  }
  function authenticationJson(credential) {
    var r = credential.response;
    return {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      response: { clientDataJSON: toText(r.clientDataJSON), authenticatorData: toText(r.authenticatorData), signature: toText(r.signature), userHandle: r.userHandle ? toText(r.userHandle) : undefined },
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
    };
  }
  var forms = document.querySelectorAll('form[data-webauthn]');
  Array.prototype.forEach.call(forms, function (form) {
    var status = form.querySelector('[data-webauthn-status]');
    var field = form.querySelector('input[name="credential"]');
    var say = function (text) { if (status) status.textContent = text || ''; };
    if (!window.PublicKeyCredential || !navigator.credentials) {
      say(form.getAttribute('data-unsupported'));
      Array.prototype.forEach.call(form.querySelectorAll('button'), function (b) { b.disabled = true; });
      return;
    }
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      say('');
      var options = JSON.parse(form.getAttribute('data-options'));
      var create = form.getAttribute('data-webauthn') === 'create';
      var ceremony = create ? navigator.credentials.create({ publicKey: creation(options) }) : navigator.credentials.get({ publicKey: request(options) });
      ceremony.then(function (credential) {
        if (!credential) throw new Error('no credential');
        field.value = JSON.stringify(create ? registrationJson(credential) : authenticationJson(credential));
        form.submit();
      }).catch(function () {
        say(form.getAttribute('data-failed'));
      });
    });
  });
})();
