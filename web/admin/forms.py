"""Admin forms (Flask-WTF: every one carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields import DateTimeLocalField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from surveys import areas, collation
from web.i18n import lazy_gettext
from web.models import Role

REQUIRED = lazy_gettext("This field is required.")
CHOOSE = lazy_gettext("Please choose one of the options.")
WHOLE_NUMBER = lazy_gettext("Please enter a whole number.")


def options(pairs) -> list[SelectChoice]:
    """``(value, label)`` pairs as WTForms select choices."""
    return [SelectChoice(value, label) for value, label in pairs]


class Choice(SelectField):
    """A select whose error messages are ours (WTForms has no Vietnamese catalog)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("invalid_choice_message", CHOOSE)
        kwargs.setdefault("invalid_value_message", CHOOSE)
        kwargs.setdefault("validators", [InputRequired(message=CHOOSE)])
        super().__init__(*args, **kwargs)


class WholeNumber(IntegerField):
    """A whole number of at most 12 digits: a longer one is refused as not a number here, before
    NumberRange compares it as a float (which overflows on a number of hundreds of digits)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.invalid_value_message = WHOLE_NUMBER

    def process_formdata(self, valuelist):
        if valuelist and len(valuelist[0].strip().lstrip("+-")) > 12:
            self.data = None
            raise ValueError(self.invalid_value_message)
        super().process_formdata(valuelist)


ROLE_CHOICES = options([
    (Role.admin.value, lazy_gettext("Administrator")),
    (Role.supervisor.value, lazy_gettext("Supervisor")),
    (Role.volunteer.value, lazy_gettext("Volunteer")),
    (Role.researcher.value, lazy_gettext("Researcher")),
    (Role.ward_official.value, lazy_gettext("Ward official (reads the ward's brief)")),
])


class UserForm(FlaskForm):
    username = StringField(lazy_gettext("Username"), validators=[
        DataRequired(message=REQUIRED), Length(min=2, max=64, message=lazy_gettext("2 to 64 characters.")),
        Regexp(r"^[A-Za-z0-9._-]+$", message=lazy_gettext("Use letters, digits, dot, dash or underscore."))])
    role = Choice(lazy_gettext("Role"), choices=ROLE_CHOICES)
    password = PasswordField(lazy_gettext("Password"), validators=[
        DataRequired(message=REQUIRED), Length(min=8, max=256, message=lazy_gettext("At least 8 characters."))])


class RoleForm(FlaskForm):
    role = Choice(lazy_gettext("Role"), choices=ROLE_CHOICES)


class AssignmentForm(FlaskForm):
    user_id = Choice(lazy_gettext("Person"), coerce=int)
    ward_code = Choice(lazy_gettext("Ward or commune"), coerce=int)


class QuotaForm(FlaskForm):
    survey_id = Choice(lazy_gettext("Survey"), coerce=int)
    ward_code = Choice(lazy_gettext("Ward or commune"), coerce=int)
    target = WholeNumber(lazy_gettext("Responses wanted"), validators=[
        InputRequired(message=REQUIRED), NumberRange(min=0, max=1_000_000, message=lazy_gettext("From 0 to 1,000,000."))])


class UploadForm(FlaskForm):
    """The upload's files: the instrument, and (added by other types) files it refers to."""

    instrument = FileField(lazy_gettext("Instrument file (YAML or XLSForm)"))
    attachment = FileField(lazy_gettext("Choice list (CSV), for an XLSForm with select_one_from_file (optional)"))


NEW_SURVEY, NEW_VERSION = "new", "version"


class ReviewForm(FlaskForm):
    """What the admin confirms before an upload is saved: its name, its titles and, when a survey
    already has that name, whether the file is that survey's next version."""

    slug = StringField(lazy_gettext("Name in the address (slug)"), validators=[
        DataRequired(message=REQUIRED),
        Regexp(r"^[a-z][a-z0-9-]{1,63}$", message=lazy_gettext(
            "2 to 64 characters: lower-case letters without accents, digits and '-', starting with a letter."))])
    target = RadioField(lazy_gettext("This file is"), choices=options([
        (NEW_VERSION, lazy_gettext("the next version of the existing survey with this name")),
        (NEW_SURVEY, lazy_gettext("a different survey: I give it another name above"))]),
        validators=[Optional()])


def review_form(languages: tuple[str, ...], names: dict[str, str], **kwargs) -> ReviewForm:
    """A :class:`ReviewForm` with a title field for each of the instrument's languages."""

    class Form(ReviewForm):
        pass

    for lang in languages:
        setattr(Form, f"title_{lang}", StringField(
            lazy_gettext("Title (%(language)s)", language=names.get(lang, lang)),
            validators=[DataRequired(message=REQUIRED), Length(max=200)]))
    return Form(**kwargs)


class LocalMoment(DateTimeLocalField):
    """A date and time typed in Hà Nội time (the browser's date-time picker), with our message."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(lazy_gettext("Enter a date and time, e.g. 2026-12-01 08:00.")) from None


class StateForm(FlaskForm):
    """A version's next state; opening may name the dates (Hà Nội time) it opens and closes."""

    state = Choice(lazy_gettext("State"), choices=options((s, s) for s in ("draft", "preview", "open", "closed", "archived")))
    opens_at = LocalMoment(lazy_gettext("Opens (optional)"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    closes_at = LocalMoment(lazy_gettext("Closes (optional)"), format="%Y-%m-%dT%H:%M", validators=[Optional()])


class TokenForm(FlaskForm):
    user_id = Choice(lazy_gettext("Person"), coerce=int)


class FindResponseForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search

    response_id = WholeNumber(lazy_gettext("Response number"), validators=[
        InputRequired(message=REQUIRED), NumberRange(min=1, max=2**31 - 1, message=WHOLE_NUMBER)])


class PrivacySettingsForm(FlaskForm):
    """Who controls a survey's personal data and how respondents reach them (the privacy notice)."""

    controller = StringField(lazy_gettext("Personal data controller (organisation and address)"),
                             validators=[DataRequired(message=REQUIRED), Length(max=300)])
    privacy_contact = StringField(lazy_gettext("Contact for questions about personal data (phone, e-mail)"),
                                  validators=[DataRequired(message=REQUIRED), Length(max=300)])


DEFAULT_AREA, NATIONAL_AREA, CHOSEN_AREA = "default", "national", "provinces"


class AreaSettingsForm(FlaskForm):
    """The provinces a survey covers: the installation's default province, the whole country, or a choice."""

    coverage = RadioField(lazy_gettext("Area covered"), choices=options([
        (DEFAULT_AREA, lazy_gettext("The installation's province (KHAOSAT_PROVINCE)")),
        (NATIONAL_AREA, lazy_gettext("The whole country (34 provinces)")),
        (CHOSEN_AREA, lazy_gettext("The provinces ticked below"))]), default=DEFAULT_AREA,
        validators=[InputRequired(message=REQUIRED)])
    provinces = SelectMultipleField(lazy_gettext("Provinces"), coerce=int, validate_choice=True, choices=options(
        (p.code, p.name) for p in sorted(areas.provinces(), key=lambda p: collation.province_key(p.name))))

    def validate_provinces(self, field) -> None:
        if self.coverage.data == CHOSEN_AREA and not field.data:
            raise ValidationError(lazy_gettext("Tick at least one province."))

    def setting(self) -> str | dict | None:
        """The ``area`` setting the form names (``None``: the installation's default)."""
        if self.coverage.data == NATIONAL_AREA:
            return areas.NATIONAL
        return {"provinces": sorted(self.provinces.data)} if self.coverage.data == CHOSEN_AREA else None
