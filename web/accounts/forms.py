"""Login form."""

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from web.i18n import lazy_gettext


class LoginForm(FlaskForm):
    username = StringField(lazy_gettext("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(lazy_gettext("Password"), validators=[DataRequired(), Length(max=256)])
