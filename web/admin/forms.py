"""Admin forms (Flask-WTF: every one carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import IntegerField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Regexp

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
    instrument = FileField(lazy_gettext("Instrument file (YAML or XLSForm)"))


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
