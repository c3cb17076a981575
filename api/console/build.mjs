// Copies the browser files of the console's npm dependencies into vendor/, which the API serves
// at /console/vendor/. vendor/ and node_modules/ are built by `make install`, never committed.
import { cpSync, mkdirSync, rmSync } from "node:fs";

const here = new URL(".", import.meta.url);
const vendor = new URL("vendor/", here);
const leaflet = new URL("node_modules/leaflet/dist/", here);

rmSync(vendor, { recursive: true, force: true });
mkdirSync(new URL("leaflet/", vendor), { recursive: true });
for (const file of ["leaflet-src.esm.js", "leaflet-src.esm.js.map", "leaflet.css", "images"]) {
  cpSync(new URL(file, leaflet), new URL(`leaflet/${file}`, vendor), { recursive: true });
}
cpSync(new URL("node_modules/leaflet/LICENSE", here), new URL("leaflet/LICENSE", vendor));
