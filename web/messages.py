"""Sentences for the codes that ``surveys`` and ``analysis`` return: one gettext message per code.

The core packages say what is wrong as a code with parameters (:class:`surveys.messages.Message`, a
:class:`surveys.errors.Problem`, or an :class:`analysis.SurveyError` with ``code`` and ``params``);
this module owns the sentence. :func:`render` gives it in the request's language (a language whose
catalog lacks it falls back to Vietnamese, see :mod:`web.i18n`), :func:`in_every_language` in every
configured language for a JSON reply (``{"vi": …, "en": …}``). A parameter that is itself a message is
rendered first; an author's text per language (a constraint message in the instrument) is picked
with :func:`web.i18n.pick`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from flask_babel import force_locale
from flask_babel.speaklater import LazyString

from surveys.errors import Problem
from web.i18n import DEFAULT_LANGUAGE, _, language, languages, pick


class Coded(Protocol):
    code: str
    params: Mapping[str, Any]


def N_(msgid: str) -> str:  # noqa: N802 (gettext's name for "extract this msgid, translate it later")
    return msgid


SENTENCES = {
    # answers (surveys.messages)
    "answer.required": N_("Please answer this question."),
    "answer.not_a_choice": N_("Please pick one of the options given."),
    "answer.not_an_integer": N_("Please enter a whole number."),
    "answer.not_a_number": N_("Please enter a number."),
    "answer.not_a_date": N_("Please enter a date as year-month-day."),
    "answer.not_a_time": N_("Please enter a time as hours:minutes (24-hour)."),
    "answer.not_a_datetime": N_("Please enter a date and a time."),
    "answer.not_a_phone": N_("Please enter a Vietnamese phone number (10 digits, e.g. 0912 345 678)."),
    "answer.not_an_email": N_("Please enter an e-mail address, e.g. name@example.vn."),
    "answer.not_a_location": N_("Please give the location as latitude longitude, e.g. 21.0285 105.8542."),
    "answer.too_long": N_("The answer is too long (at most %(limit)s characters)."),
    "answer.too_small": N_("The value must be at least %(limit)s."),
    "answer.too_large": N_("The value must be at most %(limit)s."),
    "answer.consent": N_("Your consent is needed to continue."),
    "answer.constraint": N_("This answer is not valid."),
    "answer.unknown_area": N_("Please pick a ward or commune from the list."),
    "answer.too_many_rows": N_("At most %(limit)s rows."),
    "answer.too_few_rows": N_("At least %(limit)s rows are needed."),
    "answer.row_error": N_("Row %(row)s: %(detail)s"),
    # expressions (surveys.expressions.ExpressionError)
    "expression.too_deep": N_("the expression is nested more than %(limit)s levels deep"),
    "expression.not_text": N_("an expression must be text"),
    "expression.too_long": N_("the expression is longer than %(limit)s characters"),
    "expression.bad_character": N_("unexpected character '%(character)s' at position %(position)s"),
    "expression.too_many_tokens": N_("the expression is too long"),
    "expression.bad_reference": N_("'%(text)s' is not a valid question reference"),
    "expression.too_many_digits": N_("a number has too many digits"),
    "expression.xpath_path": N_("XPath paths such as '%(text)s' are not supported; refer to questions as ${name}"),
    "expression.empty": N_("the expression is empty"),
    "expression.expected": N_("syntax error: expected '%(expected)s' at '%(near)s'"),
    "expression.expected_at_end": N_("syntax error: expected '%(expected)s' at the end"),
    "expression.unexpected": N_("syntax error: unexpected '%(near)s'"),
    "expression.unexpected_end": N_("syntax error: the expression ends too early"),
    "expression.not_a_call": N_("'%(name)s' is not a function call; refer to questions as ${%(name)s}"),
    "expression.unknown_function": N_("the function '%(name)s()' is not supported"),
    "expression.argument_count": N_("'%(name)s()' takes %(want)s argument(s), not %(got)s"),
    "expression.bad_regex": N_("regex(): the pattern is invalid or too complex (%(reason)s)"),
    "expression.concat_too_long": N_("concat() would build more than %(limit)s characters"),
    # loading an instrument (surveys.errors.Code); a detail, when there is one, ends the sentence
    "instrument.FILE_UNREADABLE": N_("The file cannot be read: %(value)s."),
    "instrument.NOT_A_MAPPING": N_("The file must be a YAML mapping of keys to values."),
    "instrument.MISSING_FIELD": N_("The required field '%(field)s' is missing."),
    "instrument.BAD_VALUE": N_("The value '%(value)s' of '%(field)s' is invalid. %(detail)s"),
    "instrument.MISSING_TRANSLATION": N_("The field '%(field)s' lacks its '%(value)s' translation, or it is empty."),
    "instrument.UNKNOWN_TYPE": N_("The question type '%(value)s' is not supported. %(detail)s"),
    "instrument.DUPLICATE_NAME": N_("The name '%(value)s' is used twice."),
    "instrument.RESERVED_NAME": N_(
        "The name '%(value)s' is reserved for what is stored with every response (ids, ward, channel, language, "
        "times, weights, sample design); choose another, e.g. '%(value)s_q'."),
    "instrument.BAD_NAME": N_(
        "The name '%(value)s' is invalid: use ASCII letters, digits, '_' and '-', starting with a letter or '_'."),
    "instrument.UNKNOWN_CHOICE_LIST": N_("There is no choice list '%(value)s'. %(detail)s"),
    "instrument.NO_CHOICES": N_("A choice question needs at least two choices."),
    "instrument.BAD_EXPRESSION": N_("The expression '%(value)s' is invalid: %(detail)s"),
    "instrument.UNKNOWN_REFERENCE": N_("The expression refers to '%(value)s', but no question has that name. "
                                       "%(detail)s"),
    "instrument.TYPE_MISMATCH": N_("Type error in the expression: %(detail)s"),
    "instrument.UNKNOWN_CHOICE_CODE": N_("The code '%(value)s' is not one of the choices of '%(detail)s'."),
    "instrument.CYCLE": N_("These calculations depend on each other in a circle: %(value)s."),
    "instrument.UNKNOWN_FIELD": N_("The field '%(field)s' is not supported. %(detail)s"),
    "instrument.BAD_COMPETENCE": N_("'%(value)s' is not a DigComp 2.2 competence id (0.1-0.2, 1.1-5.4)."),
    "instrument.BAD_CORRECT": N_("The correct answer '%(value)s' is not one of the choices."),
    "instrument.BAD_SCORING": N_("The scoring section is invalid: %(detail)s"),
    "instrument.MISSING_PAGE": N_("The instrument needs a question '%(value)s' of type '%(detail)s'."),
    "instrument.MISSING_SHEET": N_("The sheet '%(value)s' is missing. %(detail)s"),
    "instrument.UNSUPPORTED": N_("The feature '%(value)s' is not supported. %(detail)s"),
    "instrument.XLSFORM_INVALID": N_("pyxform cannot read the XLSForm: %(value)s"),
    "instrument.TOO_LARGE": N_("The file is too large: %(value)s."),
    "instrument.MISSING_ATTACHMENT": N_(
        "The attached file '%(value)s' is missing: upload this CSV together with the form."),
    "instrument.BAD_ATTACHMENT": N_("The attached file '%(value)s' cannot be read as a choice list. %(detail)s"),
    "instrument.TOO_MANY_ROWS": N_("The sheet '%(field)s' has more than %(value)s rows, over the limit."),
    "instrument.TOO_DEEP": N_("Groups are nested too deeply (more than %(value)s levels)."),
    "instrument.TOO_MANY_ALIASES": N_("The YAML file uses too many aliases ('*'): %(value)s."),
    "instrument.TOO_SLOW": N_("Checking the file took more than %(value)s seconds; split the form into smaller ones."),
    "instrument.did_you_mean": N_("Did you mean '%(name)s'?"),
    "instrument.why.not_a_declared_language": N_(
        "It is not a language listed in 'languages' (an unquoted comma in a {…} mapping splits the text: "
        "quote it)."),
    "instrument.why.grid_items_are_likert": N_("Grid items are Likert questions."),
    "instrument.why.not_inside_a_repeat": N_("It cannot be used inside a repeat."),
    "instrument.why.takes_no_choices": N_("This type takes no choices."),
    "instrument.why.correct_only_for_knowledge": N_("Only knowledge items have a correct answer."),
    "instrument.why.several_correct_need_multiple": N_("Several correct codes need 'multiple: true'."),
    "instrument.why.dot_only_in_constraint": N_("'.' (this answer) can only be used in a constraint"),
    "instrument.why.needs_choice_question": N_("%(function)s() needs a choice question, '%(name)s' is %(type)s"),
    "instrument.why.not_a_number": N_("'%(name)s' (%(type)s) is not a number"),
    "instrument.why.xlsform_types_taken": N_(
        "KhaoSat takes text, numbers, dates, times, date-times, selects, notes, calculations, acknowledge, groups "
        "and repeats."),
    "instrument.why.required_yes_or_no": N_(
        "'required' must be yes or no; conditional requirement is not supported."),
    "instrument.why.table_list_one_list": N_("A table-list group may hold only select_one rows of one list."),
    "instrument.why.no_nested_repeat": N_(
        "Repeats and table-list grids inside a repeat are not supported; plain groups are."),
    "instrument.why.no_media": N_(
        "KhaoSat does not collect photos, sound, video, files or barcodes: remove the row, or ask for a description "
        "as a text question."),
    "instrument.why.attachment_too_large": N_("It is larger than %(limit)s bytes."),
    "instrument.why.attachment_not_utf8": N_("Save it as UTF-8 CSV."),
    "instrument.why.attachment_no_name_column": N_("It needs a 'name' column."),
    "instrument.why.attachment_too_many_rows": N_("It has more than %(limit)s rows."),
    "instrument.why.language_needs_code": N_("Name the language with its code, e.g. '%(language)s (xx)'."),
    "instrument.why.metadata_only": N_(
        "The form has no question KhaoSat can ask (only metadata fields such as start or deviceid)."),
    # what an XLSForm import leaves out (surveys.xlsform warnings)
    "xlsform.metadata_not_imported": N_("row %(row)s: the metadata field '%(name)s' (%(kind)s) is not imported"),
    "xlsform.read_only_ignored": N_("row %(row)s: 'read_only' is ignored for '%(name)s'"),
    "xlsform.repeat_count_ignored": N_("row %(row)s: repeat_count is ignored; a roster takes any number of rows"),
    # the scoring section (surveys.scoring_spec)
    "scoring.unknown_key": N_("unknown key '%(key)s' (use 'blocks', 'note' and 'audience')"),
    "scoring.bad_audience": N_("'audience' must be one of %(allowed)s (who the personal result speaks to)"),
    "scoring.blocks_not_a_list": N_("'blocks' must be a list"),
    "scoring.in_block": N_("in blocks[%(block)s]: %(detail)s"),
    "scoring.block_not_a_mapping": N_("a block must be a mapping"),
    "scoring.unknown_method": N_("unknown method '%(method)s' (one of %(allowed)s)"),
    "scoring.needs_output": N_("'%(method)s' needs an 'output' name"),
    "scoring.selects_nothing": N_("'items' %(items)s selects no question"),
    "scoring.wrong_item_type": N_("'%(name)s' is a %(type)s question; '%(method)s' scores %(allowed)s"),
    "scoring.no_competence": N_("'%(name)s' has no competence, so no area"),
    "scoring.bad_thresholds": N_("'thresholds' must give [basic, above basic] counts for areas 1-5"),
    "scoring.of_empty": N_("'of' must list earlier indicators"),
    "scoring.not_earlier": N_("'%(name)s' is not an earlier indicator"),
    "scoring.bad_expression": N_("in '%(key)s': %(detail)s"),
    "scoring.unknown_question": N_("'%(key)s' refers to unknown question '%(name)s'"),
    # calibrating the weights (analysis.CalibrationError)
    "calibration.too_few_units": N_(
        "fewer than two sampling units have responded, so standard errors cannot be computed yet."),
    "calibration.no_margins": N_("no population margins are loaded."),
    "calibration.no_sex_age": N_("the survey does not ask sex and age."),
    "calibration.empty_cells": N_("some sex and age-band groups of the census have no respondents (%(cells)s)."),
    "calibration.no_population": N_(
        "some groups that have respondents have no people in the census table (%(levels)s)."),
    "calibration.failed": N_("the margins do not fit the responses."),
    "calibration.not_converged": N_("the raking did not converge."),
    "place.sheet": N_("sheet '%(sheet)s'"),
    "place.row": N_("sheet '%(sheet)s', row %(row)s"),
    "place.header": N_("sheet '%(sheet)s', header row"),
    "place.at": N_("%(place)s (%(path)s)"),
    "calibration.missing_values": N_("some weighting variables have missing values (%(variables)s)."),
    "calibration.no_sample": N_("some groups of the census have no respondents (%(levels)s)."),
    "calibration.unknown_levels": N_("the variable %(variable)s has values the population table lacks (%(levels)s)."),
}


def render(message: Coded | Problem | Mapping[str, str] | str | None, lang: str | None = None) -> str:
    """``message`` as a sentence in ``lang`` (default: the request's); an unknown code shows as itself."""
    if not message:
        return ""
    if isinstance(message, str):
        return message
    if isinstance(message, Problem):
        place = ", ".join(part for part in (message.file, render(message.where, lang)) if part)
        return f"[{message.code.name}] {place}: {render(message.message, lang)}"
    if isinstance(message, Mapping):  # the author's text per language
        return pick(message, lang or language())
    template = SENTENCES.get(message.code)
    if template is None:
        return str(message)
    params = {k: render(v, lang) if isinstance(v, Mapping | Problem) or hasattr(v, "code") else v
              for k, v in message.params.items()}
    if lang is not None:
        with force_locale(lang):
            return _sentence(template, params)
    return _sentence(template, params)


def _sentence(msgid: str, params: Mapping[str, Any]) -> str:
    try:
        return _(msgid, **params).strip()
    except (KeyError, ValueError, TypeError):  # a catalog's placeholder is wrong: say it in Vietnamese
        with force_locale(DEFAULT_LANGUAGE):
            return _(msgid, **params).strip()


def in_every_language(message: Any, **params: Any) -> dict[str, str]:
    """``message`` in every configured language, Vietnamese and English always: ``{"vi": …, "en": …}``.

    ``message`` is a code (as :func:`render` takes) or a ``lazy_gettext`` string whose placeholders
    ``params`` fill.
    """
    out = {}
    for code in dict.fromkeys((DEFAULT_LANGUAGE, "en", *languages())):
        with force_locale(code):
            if isinstance(message, LazyString):
                out[code] = str(message) % params if params else str(message)
            else:
                out[code] = render(message, code)
    return out


def as_sentences(problems: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """``{field: message}`` -> ``{field: {language: sentence}}``, the API's error shape."""
    return {name: in_every_language(message) for name, message in problems.items()}
