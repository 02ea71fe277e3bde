/* KhaoSat expressions in the browser: evaluates the parsed trees that surveys.jsonform sends
   ({kind, value, args}) with the same XPath semantics as surveys/evaluator.py. The server stays
   authoritative; this only decides what to show at once. No eval, no regex() (treated as true).
   today() and now() read the clock in the survey's time zone (<body data-tz>, else Asia/Ho_Chi_Minh)
   through Intl.DateTimeFormat, as surveys/clock.py does; KSExpr.clock can be replaced (tests). */
(function (root) {
  "use strict";
  var DATE = /^\d{4}-\d{2}-\d{2}$/, DATETIME = /^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/, NUM = /^\s*-?(\d+(\.\d*)?|\.\d+)\s*$/;
  function isList(v) { return Array.isArray(v); }
  function str(v) {
    if (v === null || v === undefined) return "";
    if (v === true || v === false) return v ? "true" : "false";
    if (typeof v === "number") return isNaN(v) ? "NaN" : !isFinite(v) ? (v > 0 ? "Infinity" : "-Infinity") : String(v);
    if (isList(v)) return v.filter(function (x) { return typeof x !== "object"; }).map(str).join(" ");
    return String(v);
  }
  function num(v) {
    if (v === true || v === false) return v ? 1 : 0;
    if (typeof v === "number") return v;
    var t = str(v).trim();
    if (NUM.test(t)) return parseFloat(t);
    if (DATE.test(t)) return days(t);
    var m = DATETIME.exec(t);
    if (m) {
      var h = +m[2], mi = +m[3], s = +(m[4] || 0);
      return h > 23 || mi > 59 || s > 59 ? NaN : days(m[1]) + (h * 3600 + mi * 60 + s) / 86400;
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
  function evaluate(node, values, current) {
    function ev(n) {
      var k = n.kind, a = n.args || [], v;
      if (k === "num" || k === "str") return n.value;
      if (k === "ref") { v = values[n.value]; if (v === undefined || v === null) v = fromRepeats(values, n.value); return v === null || v === undefined ? "" : v; }
      if (k === "cur") return current === undefined || current === null ? "" : current;
      if (k === "col") return "";
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
        case "string-length": return str(ev(a[0])).length;
        case "regex": return true;
        case "coalesce": v = ev(a[0]); return str(v) !== "" ? v : ev(a[1]);
        case "concat": return a.map(function (x) { return str(ev(x)); }).join("");
        case "contains": return str(ev(a[0])).indexOf(str(ev(a[1]))) >= 0;
        case "starts-with": return str(ev(a[0])).indexOf(str(ev(a[1]))) === 0;
        case "ends-with": v = str(ev(a[0])); n = str(ev(a[1])); return v.slice(v.length - n.length) === n;
        case "today": return wallClock().slice(0, 10);
        case "now": return wallClock();
        case "int": n = num(ev(a[0])); return isFinite(n) ? Math.trunc(n) : n;
        case "number": return num(ev(a[0]));
        case "string": return str(ev(a[0]));
        case "boolean": return bool(ev(a[0]));
        case "round": n = num(ev(a[0])); v = Math.pow(10, a.length > 1 ? Math.trunc(num(ev(a[1]))) : 0); return isFinite(n) ? Math.floor(n * v + 0.5) / v : n;
        case "min": case "max": n = nums(a, ev); return !n.length || n.some(isNaN) ? NaN : Math[name].apply(Math, n);
        case "count": v = ev(a[0]); return isList(v) ? v.length : v === "" ? 0 : 1;
        case "sum": v = ev(a[0]); return (isList(v) ? v : [v]).filter(function (x) { return x !== ""; }).reduce(function (s, x) { return s + num(x); }, 0);
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
