// Loaded before ReDoc's bundle on /api/v1/redoc/ (gis_portal/templates/drf_spectacular/redoc.html).
// ReDoc 2 draws Redocly's logo in its sidebar footer from https://cdn.redoc.ly/; the page's
// Content-Security-Policy lets in no image host but our own, and the docs must work offline. The
// address is replaced by an empty data: URI before the browser asks for it (React sets it through the
// `src` property, other code may use setAttribute); ReDoc then hides the image (its own onError) and
// keeps the "API docs by Redocly" link as text. Every other image is left alone.
"use strict";
(function () {
  const REMOTE = "https://cdn.redoc.ly/";
  const offline = (value) => (String(value).startsWith(REMOTE) ? "data:," : value);
  const src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    configurable: true,
    enumerable: src.enumerable,
    get: src.get,
    set(value) {
      src.set.call(this, offline(value));
    },
  });
  const setAttribute = Element.prototype.setAttribute;
  HTMLImageElement.prototype.setAttribute = function (name, value) {
    return setAttribute.call(this, name, String(name).toLowerCase() === "src" ? offline(value) : value);
  };
})();
