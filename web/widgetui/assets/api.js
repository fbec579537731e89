/* The CAPTCHA widget: placeholder until the widget lands. */
