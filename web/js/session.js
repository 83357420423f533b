// session: when the bridge requires a login, offer a way to log out.
//
// Part of mytracks. SPDX-License-Identifier: MIT
fetch('/api/me', { credentials: 'same-origin' })
  .then((r) => (r.ok ? r.json() : null))
  .then((me) => {
    if (me && me.login) document.getElementById('logout').hidden = false;
  })
  .catch(() => {});
