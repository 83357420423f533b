// login: show why the previous attempt failed (the form posts itself).
//
// Part of mytracks. SPDX-License-Identifier: MIT
if (new URLSearchParams(window.location.search).has('failed')) {
  document.getElementById('login-failed').hidden = false;
}
