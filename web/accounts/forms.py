"""Login and password forms."""

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from web.i18n import lazy_gettext


class LoginForm(FlaskForm):
    username = StringField(lazy_gettext("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(lazy_gettext("Password"), validators=[DataRequired(), Length(max=256)])


class PasswordChangeForm(FlaskForm):
    current = PasswordField(lazy_gettext("Current password"), validators=[
        DataRequired(message=lazy_gettext("This field is required.")), Length(max=256)])
    new = PasswordField(lazy_gettext("New password"), validators=[
        DataRequired(message=lazy_gettext("This field is required.")),
        Length(min=8, max=256, message=lazy_gettext("At least 8 characters."))])
    again = PasswordField(lazy_gettext("New password again"), validators=[
        EqualTo("new", message=lazy_gettext("The two new passwords differ."))])
