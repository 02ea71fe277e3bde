/* KhaoSat: which adult of a sampled household to interview, chosen on the phone, offline.

   The phone's copy of the server's rule, analysis.sampling.doorstep_adult (Python), line by line:
   tests/web/test_adult_rule_parity.py runs both on thousands of generated households and requires
   the same person and the same probability, to the last bit. Change one, change the other.

   Kish rule: adults in Kish's order (men oldest first, then women oldest first; equal sex and age
   in the order listed); the household's random number `draw` in [0, 1) falls in one person's slice
   of the cumulated shares factor / sum(factors), added one by one in that order; people 60 or over
   have `olderFactor` times the others' factor when the draw oversamples them.
   Last birthday: the adult whose birthday (MM-DD) came last before or on the local date `on`
   (YYYY-MM-DD; 29 February falls on the 28th in other years), the first listed of a tie, with
   probability 1/k. */
(function (root) {
  "use strict";
  var OLDER_AGE = 60;

  function isLeap(y) { return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0; }
  function daysIn(month, year) { return [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]; }

  function daysSinceBirthday(birthday, on) {
    if (typeof birthday !== "string" || !/^[0-9]{2}-[0-9]{2}$/.test(birthday)) throw new Error("bad_birthday");
    var month = Number(birthday.slice(0, 2)), day = Number(birthday.slice(3));
    if (month < 1 || month > 12 || day < 1 || day > daysIn(month, 2000)) throw new Error("bad_birthday");
    var year = Number(on.slice(0, 4)), today = Date.UTC(year, Number(on.slice(5, 7)) - 1, Number(on.slice(8, 10)));
    var inYear = function (y) { return Date.UTC(y, month - 1, month === 2 && day === 29 && !isLeap(y) ? 28 : day); };
    var last = inYear(year) <= today ? inYear(year) : inYear(year - 1);
    return Math.round((today - last) / 86400000);
  }

  function kishOrder(adults) {
    var key = function (i) { return [String(adults[i].sex) === "1" ? 0 : 1, -Number(adults[i].age || 0), i]; };
    return adults.map(function (_, i) { return i; }).sort(function (a, b) {
      var x = key(a), y = key(b);
      for (var n = 0; n < 3; n++) if (x[n] !== y[n]) return x[n] < y[n] ? -1 : 1;
      return 0;
    });
  }

  function selectAdult(adults, rule, draw, factors) {
    var k = adults.length, i;
    if (k === 0) throw new Error("no_adults");
    if (!(draw >= 0 && draw < 1)) throw new Error("draw_out_of_range");
    if (rule === "last_birthday") {
      var days = adults.map(function (a) { return "days_since_birthday" in a ? Number(a.days_since_birthday) : Infinity; });
      var best = 0;
      for (i = 1; i < k; i++) if (days[i] < days[best]) best = i;
      return [best, 1.0 / k];
    }
    if (rule !== "kish") throw new Error("unknown_rule");
    var order = kishOrder(adults);
    var weight = order.map(function (j) { return factors ? Number(factors[j]) : 1.0; });
    if (weight.some(function (w) { return !(w > 0); })) throw new Error("factor_not_positive");
    var total = 0.0, cumulated = 0.0;
    for (i = 0; i < k; i++) total += weight[i];
    for (i = 0; i < k; i++) {
      cumulated += weight[i] / total;
      if (cumulated > draw || i === k - 1) return [order[i], weight[i] / total];
    }
  }

  /* adults: [{sex: "1"|"2", age, birthday: "MM-DD"}]; returns [position in the list, probability] */
  function choose(adults, rule, draw, on, olderFactor) {
    var factors = null;
    if (rule === "kish" && olderFactor) {
      factors = adults.map(function (a) { return Number(a.age || 0) >= OLDER_AGE ? Number(olderFactor) : 1.0; });
    }
    if (rule === "last_birthday" && on) {
      adults = adults.map(function (a) {
        if (!a.birthday) return a;
        var copy = {}, key;
        for (key in a) copy[key] = a[key];
        copy.days_since_birthday = daysSinceBirthday(a.birthday, on);
        return copy;
      });
    }
    return selectAdult(adults, rule, draw, factors);
  }

  root.KSAdults = { choose: choose, daysSinceBirthday: daysSinceBirthday, OLDER_AGE: OLDER_AGE };
})(typeof window !== "undefined" ? window : globalThis);
