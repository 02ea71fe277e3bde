/* KhaoSat expressions in the browser: evaluates the parsed trees that surveys.jsonform sends
   ({kind, value, args}) with the same XPath semantics as surveys/evaluator.py. The server stays
   authoritative; this only decides what to show at once. No eval. regex() runs the server's subset
   (surveys/saferegex.py) through RegExp after a translation that keeps its meaning: \d and \w are
   Unicode as in Python, . is any character but a newline; anything outside the subset throws, and
   the caller leaves the decision to the server.
   today() and now() read the clock in the survey's time zone (<body data-tz>, else Asia/Ho_Chi_Minh)
   through Intl.DateTimeFormat, as surveys/clock.py does; KSExpr.clock can be replaced (tests). */
(function (root) {
  "use strict";
  var DATE = /^\d{4}-\d{2}-\d{2}$/, DATETIME = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/, TIME = /^()(\d{2}):(\d{2})(?::(\d{2}))?$/, NUM = /^\s*-?(\d+(\.\d*)?|\.\d+)\s*$/;
  var MAX_STRING = 10000;
  function isList(v) { return Array.isArray(v); }
  function str(v) {
    if (v === null || v === undefined) return "";
    if (v === true || v === false) return v ? "true" : "false";
    if (typeof v === "number") return numStr(v);
    if (isList(v)) return v.filter(function (x) { return typeof x !== "object"; }).map(str).join(" ");
    return String(v);
  }
  /* a number as surveys/evaluator.number_to_str writes it: whole numbers below 1e15 without a point,
     else Python's repr (fixed notation for exponents -4..15, else d.ddde+XX) */
  function numStr(x) {
    if (isNaN(x)) return "NaN";
    if (!isFinite(x)) return x > 0 ? "Infinity" : "-Infinity";
    if (x === Math.trunc(x) && Math.abs(x) < 1e15) return String(x);
    var m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(x.toExponential()), digits = m[2] + (m[3] || ""), e = +m[4];
    if (e < -4 || e >= 16)
      return m[1] + digits[0] + (digits.length > 1 ? "." + digits.slice(1) : "") + "e" + (e < 0 ? "-" : "+") + (Math.abs(e) < 10 ? "0" : "") + Math.abs(e);
    if (e < 0) return m[1] + "0." + new Array(-e).join("0") + digits;
    while (digits.length <= e) digits += "0";
    return m[1] + digits.slice(0, e + 1) + "." + (digits.slice(e + 1) || "0");
  }
  function num(v) {
    if (v === true || v === false) return v ? 1 : 0;
    if (typeof v === "number") return v;
    var t = str(v).trim();
    if (NUM.test(t)) return parseFloat(t);
    if (DATE.test(t)) return days(t);
    var m = DATETIME.exec(t) || TIME.exec(t);
    if (m) {
      var h = +m[2], mi = +m[3], s = +(m[4] || 0);
      return h > 23 || mi > 59 || s > 59 ? NaN : (m[1] ? days(m[1]) : 0) + (h * 3600 + mi * 60 + s) / 86400;
    }
    return NaN;
  }
  function days(t) {
    var d = Date.parse(t + "T00:00:00Z");
    return isNaN(d) || new Date(d).toISOString().slice(0, 10) !== t ? NaN : Math.round(d / 864e5);
  }
  function zone() {
    var el = root.document && root.document.body;
    return api.timeZone || (el && el.getAttribute("data-tz")) || "Asia/Ho_Chi_Minh";
  }
  /* the survey zone's wall clock as "YYYY-MM-DDTHH:MM:SS" */
  function wallClock() {
    var parts = {};
    new Intl.DateTimeFormat("en-GB", { timeZone: zone(), hourCycle: "h23", year: "numeric", month: "2-digit",
      day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" })
      .formatToParts(api.clock()).forEach(function (p) { parts[p.type] = p.value; });
    return parts.year + "-" + parts.month + "-" + parts.day + "T" + parts.hour + ":" + parts.minute + ":" + parts.second;
  }
  function bool(v) {
    if (v === true || v === false) return v;
    if (typeof v === "number") return !(v === 0 || isNaN(v));
    if (isList(v)) return v.length > 0;
    return v !== null && v !== undefined && v !== "";
  }
  function list(v) { return isList(v) ? v.filter(function (x) { return typeof x !== "object"; }).map(str) : str(v).split(/\s+/).filter(Boolean); }
  function isNum(v) { return typeof v === "number"; }
  function fromRepeats(values, name) {
    for (var k in values) {
      var v = values[k];
      if (isList(v) && v.length && typeof v[0] === "object" && v.some(function (r) { return name in r; }))
        return v.map(function (r) { return name in r ? r[name] : ""; });
    }
    return null;
  }
  function nums(args, ev) {
    var out = [];
    args.forEach(function (a) { var v = ev(a); (isList(v) ? v : [v]).forEach(function (x) { out.push(num(x)); }); });
    return out;
  }
  /* the exact sum of finite numbers rounded once, as Python's math.fsum (Shewchuk's partials); NaN where
     fsum raises (an intermediate overflow, inf + -inf), as surveys/evaluator.fn_sum returns */
  function fsum(xs) {
    var partials = [], special = 0, inf = 0, i, j, x, y, t, hi, lo, n;
    for (j = 0; j < xs.length; j++) {
      x = xs[j]; var xsave = x;
      for (i = 0, n = 0; i < partials.length; i++) {
        y = partials[i];
        if (Math.abs(x) < Math.abs(y)) { t = x; x = y; y = t; }
        hi = x + y; lo = y - (hi - x);
        if (lo !== 0) partials[n++] = lo;
        x = hi;
      }
      partials.length = n;
      if (x !== 0 && !isFinite(x)) {
        if (isFinite(xsave)) return NaN;
        if (!isNaN(xsave)) inf += xsave;
        special += xsave; partials.length = 0;
      } else if (x !== 0) partials.push(x);
    }
    if (special !== 0) return isNaN(inf) ? NaN : special;
    n = partials.length; hi = 0;
    if (n > 0) {
      hi = partials[--n];
      while (n > 0) { x = hi; y = partials[--n]; hi = x + y; lo = y - (hi - x); if (lo !== 0) break; }
      if (n > 0 && ((lo < 0 && partials[n - 1] < 0) || (lo > 0 && partials[n - 1] > 0))) {
        y = lo * 2; x = hi + y;
        if (y === x - hi) hi = x;
      }
    }
    return hi;
  }
  var CLASS_ESC = { d: "\\p{Nd}", D: "\\P{Nd}", w: "\\p{L}\\p{N}_", s: "\\s" },
    PLAIN_ESC = { d: "\\p{Nd}", D: "\\P{Nd}", w: "[\\p{L}\\p{N}_]", W: "[^\\p{L}\\p{N}_]", s: "\\s", S: "\\S" },
    CACHE = {};
  /* the server's regex subset as a JavaScript RegExp (u flag); throws outside the subset */
  function pattern(src) {
    if (CACHE[src]) return CACHE[src];
    if (src.length > 500) throw new Error("regex too long");
    var out = "", inClass = false, i, ch, nx;
    for (i = 0; i < src.length; i++) {
      ch = src[i];
      if (ch === "\\") {
        nx = src[++i];
        if (nx === undefined || /[0-9bBkpPuxc]/.test(nx)) throw new Error("regex escape outside the subset");
        var table = inClass ? CLASS_ESC : PLAIN_ESC;
        if (table[nx]) out += table[nx];
        else if ("ntrfv".indexOf(nx) >= 0) out += "\\" + nx;
        else if (/[A-Za-z]/.test(nx)) throw new Error("regex escape outside the subset");
        else out += "\\u{" + nx.codePointAt(0).toString(16) + "}";
        continue;
      }
      if (inClass) { if (ch === "]") inClass = false; out += ch === "[" ? "\\[" : ch; continue; }
      if (ch === "[") { inClass = true; out += ch; if (src[i + 1] === "^") { out += "^"; i++; } if (src[i + 1] === "]") { out += "\\]"; i++; } continue; }
      if (ch === "(" && src[i + 1] === "?" && src[i + 2] !== ":") throw new Error("regex group outside the subset");
      out += ch === "." ? "[^\\n]" : ch;
    }
    return (CACHE[src] = new RegExp(out, "u"));
  }
  function evaluate(node, values, current, row) {
    function ev(n) {
      var k = n.kind, a = n.args || [], v;
      if (k === "num" || k === "str") return n.value;
      if (k === "ref") { v = values[n.value]; if (v === undefined || v === null) v = fromRepeats(values, n.value); return v === null || v === undefined ? "" : v; }
      if (k === "cur") return current === undefined || current === null ? "" : current;
      if (k === "col") { v = row ? row[n.value] : undefined; return v === undefined || v === null ? "" : v; }
      if (k === "fn") return fn(n.value, a);
      var op = n.value;
      if (op === "neg") return -num(ev(a[0]));
      if (op === "or") return bool(ev(a[0])) || bool(ev(a[1]));
      if (op === "and") return bool(ev(a[0])) && bool(ev(a[1]));
      var x = ev(a[0]), y = ev(a[1]);
      if (op === "=" || op === "!=") {
        var same = (typeof x === "boolean" || typeof y === "boolean") ? bool(x) === bool(y)
          : (isNum(x) || isNum(y)) ? num(x) === num(y) : str(x) === str(y);
        return op === "=" ? same : !same;
      }
      var p = num(x), q = num(y);
      switch (op) {
        case "<": return p < q; case "<=": return p <= q; case ">": return p > q; case ">=": return p >= q;
        case "+": return p + q; case "-": return p - q; case "*": return p * q;
        case "div": return p / q; case "mod": return q === 0 || !isFinite(p) ? NaN : p % q;
      }
      return "";
    }
    function fn(name, a) {
      var v, n;
      switch (name) {
        case "selected": return list(ev(a[0])).indexOf(str(ev(a[1])).trim()) >= 0;
        case "count-selected": return list(ev(a[0])).length;
        case "if": return bool(ev(a[0])) ? ev(a[1]) : ev(a[2]);
        case "not": return !bool(ev(a[0]));
        case "true": return true;
        case "false": return false;
        case "string-length": return Array.from(str(ev(a[0]))).length;
        case "regex": v = str(ev(a[0])); return pattern(str(ev(a[1]))).test(v);
        case "coalesce": v = ev(a[0]); return str(v) !== "" ? v : ev(a[1]);
        case "concat":
          v = a.map(function (x) { return str(ev(x)); }).join("");
          if (v.length > MAX_STRING) throw new Error("concat() would build more than " + MAX_STRING + " characters");
          return v;
        case "contains": return str(ev(a[0])).indexOf(str(ev(a[1]))) >= 0;
        case "starts-with": return str(ev(a[0])).indexOf(str(ev(a[1]))) === 0;
        case "ends-with": v = str(ev(a[0])); n = str(ev(a[1])); return v.slice(v.length - n.length) === n;
        case "today": return wallClock().slice(0, 10);
        case "now": return wallClock();
        case "int": n = num(ev(a[0])); return isFinite(n) ? Math.trunc(n) + 0 : n;
        case "number": return num(ev(a[0]));
        case "string": return str(ev(a[0]));
        case "boolean": return bool(ev(a[0]));
        case "round":
          n = num(ev(a[0])); v = a.length > 1 ? num(ev(a[1])) : 0;
          if (!isFinite(n) || isNaN(v)) return n;
          v = Math.pow(10, Math.trunc(Math.max(-15, Math.min(15, v))));
          return isFinite(Math.floor(n * v + 0.5)) ? Math.floor(n * v + 0.5) / v : n;
        case "min": case "max": n = nums(a, ev); return !n.length || n.some(isNaN) ? NaN : Math[name].apply(Math, n);
        case "count": v = ev(a[0]); return isList(v) ? v.length : v === "" ? 0 : 1;
        case "sum": v = ev(a[0]); return fsum((isList(v) ? v : [v]).filter(function (x) { return x !== ""; }).map(num));
      }
      return "";
    }
    return ev(node);
  }
  /* true unless the rule is definitely false; a rule that fails shows the question */
  function relevant(tree, values) { try { return bool(evaluate(tree, values)); } catch (e) { return true; } }
  var api = { evaluate: evaluate, relevant: relevant, bool: bool, num: num, str: str, timeZone: null,
              clock: function () { return new Date(); } };
  root.KSExpr = api;
})(window);
