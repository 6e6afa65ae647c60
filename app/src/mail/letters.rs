//! The words of each email: plain text with an HTML alternative, naming the site and
//! its address, saying why the person got the message and what to do if they did not
//! ask for it.

use super::Letter;
use html_escape::encode_quoted_attribute;

/// The site's name as the emails give it.
pub const SITE_NAME: &str = "Taskboard";

/// Who a message goes to and about which account.
pub struct Recipient<'a> {
    pub user_id: &'a str,
    pub address: &'a str,
}

/// What one message says: its subject, its paragraphs before the link, the link's
/// words, and the paragraphs after it.
struct Wording<'a> {
    subject: String,
    before: Vec<String>,
    action: &'a str,
    after: Vec<String>,
}

/// A link that sets a new password, valid for `lifetime`.
pub fn password_reset(to: Recipient, origin: &str, link: &str, lifetime: &str) -> Letter {
    compose(
        to,
        origin,
        link,
        Wording {
            subject: format!("Reset your {SITE_NAME} password"),
            before: vec![format!(
                "Someone asked to reset the password of the {SITE_NAME} account for this \
                 address. To choose a new password, open this link within {lifetime}:"
            )],
            action: "Choose a new password",
            after: vec![
                "Setting a new password signs the account out everywhere.".to_owned(),
                "If you did not ask for this, ignore this email: your password stays as it \
                 is."
                .to_owned(),
            ],
        },
    )
}

/// A link that confirms the account's address, valid for `lifetime`.
pub fn verify_email(to: Recipient, origin: &str, link: &str, lifetime: &str) -> Letter {
    compose(
        to,
        origin,
        link,
        Wording {
            subject: format!("Confirm your email address for {SITE_NAME}"),
            before: vec![format!(
                "This address was used for a {SITE_NAME} account. To confirm that it is \
                 yours, open this link within {lifetime} and press the button on its page:"
            )],
            action: "Confirm my address",
            after: vec![
                "If you did not make this account, ignore this email: nothing happens \
                 unless the button on the link's page is pressed."
                    .to_owned(),
            ],
        },
    )
}

/// A link, sent to the new address, that moves the account to it.
pub fn confirm_new_email(to: Recipient, origin: &str, link: &str, lifetime: &str) -> Letter {
    compose(
        to,
        origin,
        link,
        Wording {
            subject: format!("Confirm your new email address for {SITE_NAME}"),
            before: vec![format!(
                "Someone signed in to a {SITE_NAME} account asked to use this address for \
                 it. The account moves to this address when the button on this link's page \
                 is pressed, within {lifetime}:"
            )],
            action: "Use this address",
            after: vec![
                "If you did not ask for this, ignore this email: the account keeps its \
                 address."
                    .to_owned(),
            ],
        },
    )
}

/// To the address an account has proved, asking it to approve a move to `new_address`.
pub fn approve_email_change(
    to: Recipient,
    origin: &str,
    link: &str,
    lifetime: &str,
    new_address: &str,
) -> Letter {
    compose(
        to,
        origin,
        link,
        Wording {
            subject: format!("Approve the new email address of your {SITE_NAME} account"),
            before: vec![format!(
                "Someone signed in to your {SITE_NAME} account asked to move it to \
                 {new_address}. To approve it, open this link within {lifetime}, in a \
                 browser where you are signed in to {SITE_NAME}, and press the button on \
                 its page; then a link goes to the new address, and the account moves \
                 when that one is confirmed:"
            )],
            action: "Approve the new address",
            after: vec![
                "If you did not ask for this, do not open the link: the account keeps this \
                 address. Someone may know your password, or use a browser left signed in \
                 to your account, so change your password from the account page, with \
                 \"sign out my other sessions\" checked."
                    .to_owned(),
            ],
        },
    )
}

/// To the owner of an address someone just tried to create another account with.
pub fn sign_up_with_your_address(to: Recipient, origin: &str) -> Letter {
    let forgot = format!("{origin}/forgot-password");
    compose(
        to,
        origin,
        &forgot,
        Wording {
            subject: format!("Someone tried to sign up to {SITE_NAME} with your address"),
            before: vec![format!(
                "Someone just tried to create a {SITE_NAME} account with this address, \
                 which already has one. No second account was made. If it was you, sign \
                 in with your password, or choose a new one:"
            )],
            action: "Choose a new password",
            after: vec![
                "If it was not you, you need not do anything: nobody can use the account \
                 without its password."
                    .to_owned(),
            ],
        },
    )
}

/// A notice to the address an account just left.
pub fn email_changed(to: Recipient, origin: &str, new_address: &str) -> Letter {
    let sign_in = format!("{origin}/sign-in");
    compose(
        to,
        origin,
        &sign_in,
        Wording {
            subject: format!("Your {SITE_NAME} email address was changed"),
            before: vec![format!(
                "The {SITE_NAME} account that used this address now uses {new_address}. \
                 Emails about it go there from now on."
            )],
            action: "Sign in",
            after: vec![
                "If you did not make this change, reset your password from the sign-in page \
                 with the new address, or ask the site's administrator for help."
                    .to_owned(),
            ],
        },
    )
}

/// A notice to the account's address that two-factor sign-in was turned on (`on`) or
/// off: whoever has the password and a session could do either, and the owner should
/// hear of it.
pub fn two_factor_changed(to: Recipient, origin: &str, on: bool) -> Letter {
    let account = format!("{origin}/account");
    let (subject, what) = if on {
        (
            format!("Two-factor sign-in is on for your {SITE_NAME} account"),
            "Signing in to your account now asks for a code from an authenticator app, \
             and every other session of the account was signed out.",
        )
    } else {
        (
            format!("Two-factor sign-in is off for your {SITE_NAME} account"),
            "Signing in to your account now needs the password alone.",
        )
    };
    compose(
        to,
        origin,
        &account,
        Wording {
            subject,
            before: vec![what.to_owned()],
            action: "Open your account",
            after: vec![
                "If you did not do this, someone has your password: choose a new one from \
                 the sign-in page (\"Forgot your password?\"), which signs out every \
                 session, then check two-factor sign-in on your account page."
                    .to_owned(),
            ],
        },
    )
}

/// A link's lifetime as the emails say it: "1 hour", "24 hours", "30 minutes".
pub fn duration_in_words(secs: i64) -> String {
    let (count, unit) = match secs {
        s if s >= 3600 && s % 3600 == 0 => (s / 3600, "hour"),
        s if s >= 60 && s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    let plural = if count == 1 { "" } else { "s" };
    format!("{count} {unit}{plural}")
}

fn compose(to: Recipient, origin: &str, link: &str, wording: Wording) -> Letter {
    let footer = format!(
        "You got this email from {SITE_NAME} at {origin} because of an action on an \
         account that uses this address."
    );
    let mut text = String::new();
    for paragraph in &wording.before {
        text.push_str(paragraph);
        text.push_str("\n\n");
    }
    text.push_str(link);
    text.push_str("\n\n");
    for paragraph in &wording.after {
        text.push_str(paragraph);
        text.push_str("\n\n");
    }
    text.push_str("-- \n");
    text.push_str(&footer);
    text.push('\n');

    let paragraphs = |list: &[String]| {
        list.iter()
            .map(|p| format!("<p>{}</p>", encode_quoted_attribute(p)))
            .collect::<String>()
    };
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body>{before}<p><a href=\"{href}\">{action}</a></p><p>Or copy this address into \
         your browser: {href}</p>{after}<hr><p><small>{footer}</small></p></body></html>",
        title = encode_quoted_attribute(&wording.subject),
        before = paragraphs(&wording.before),
        href = encode_quoted_attribute(link),
        action = encode_quoted_attribute(wording.action),
        after = paragraphs(&wording.after),
        footer = encode_quoted_attribute(&footer),
    );
    Letter {
        user_id: to.user_id.to_owned(),
        to: to.address.to_owned(),
        subject: wording.subject,
        text,
        html,
        link: link.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "https://tasks.example.com";

    fn ada() -> Recipient<'static> {
        Recipient {
            user_id: "u1",
            address: "ada@example.com",
        }
    }

    #[test]
    fn a_reset_email_carries_its_link_the_site_and_why_it_was_sent() {
        let link =
            "https://tasks.example.com/api/auth/reset-password/abc?callbackURL=%2Freset-password";
        let letter = password_reset(ada(), ORIGIN, link, "1 hour");
        assert_eq!(letter.subject, "Reset your Taskboard password");
        for part in [&letter.text, &letter.html] {
            assert!(part.contains(ORIGIN), "{part}");
            assert!(part.contains("within 1 hour"), "{part}");
            assert!(part.contains("If you did not ask for this"), "{part}");
        }
        assert!(letter.text.contains(link));
        assert!(letter
            .html
            .contains(&format!("href=\"{}\"", encode_quoted_attribute(link))));
    }

    #[test]
    fn lifetimes_are_said_in_the_largest_whole_unit() {
        assert_eq!(duration_in_words(3600), "1 hour");
        assert_eq!(duration_in_words(24 * 3600), "24 hours");
        assert_eq!(duration_in_words(90 * 60), "90 minutes");
        assert_eq!(duration_in_words(45), "45 seconds");
    }

    #[test]
    fn words_from_people_cannot_become_markup() {
        let letter = email_changed(ada(), ORIGIN, "\"><script>x</script>@example.com");
        assert!(!letter.html.contains("<script>"), "{}", letter.html);
        assert!(letter.html.contains("&lt;script&gt;"));
    }

    #[test]
    fn an_approval_names_the_new_address_and_what_to_do_if_it_was_not_asked_for() {
        let link = "https://tasks.example.com/api/auth/verify-email?token=abc";
        let letter = approve_email_change(ada(), ORIGIN, link, "24 hours", "new@example.com");
        assert!(
            letter.text.contains("move it to new@example.com"),
            "{}",
            letter.text
        );
        assert!(letter.text.contains("do not open the link"));
        assert_eq!(letter.link, link);
        assert_eq!(letter.to, "ada@example.com");
    }

    #[test]
    fn the_notice_of_a_change_names_the_new_address_and_what_to_do() {
        let letter = email_changed(ada(), ORIGIN, "new@example.com");
        assert!(letter.text.contains("now uses new@example.com"));
        assert!(letter.text.contains("reset your password"));
        assert_eq!(letter.link, "https://tasks.example.com/sign-in");
    }
}
