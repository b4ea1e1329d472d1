// window.__TAURI__ for Tauri apps with app.withGlobalTauri: the real
// @tauri-apps/api (the version in package-lock.json), bundled, as Tauri
// injects its own bundle.global.js. It needs __TAURI_INTERNALS__, which
// the bridge defined before this script ran.
import * as api from '@tauri-apps/api';

Object.defineProperty(window, '__TAURI__', { value: api, enumerable: true, configurable: false, writable: false });
