// main.js: the live map page's entry point (index.html loads it).
//
// Part of mytracks. SPDX-License-Identifier: MIT

import { start } from './app.js';

start(window);
