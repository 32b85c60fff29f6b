//! The language a page is read in: the reader's choice (a cookie), else the browser's.

use axum::http::{HeaderMap, header};

use super::auth::cookie;
use crate::vocab::Named;

/// The cookie that keeps the reader's choice of language.
pub const LANG_COOKIE: &str = "qudao_lang";

/// A language the pages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    /// The language's code in the cookie and the page's `lang`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The language of a code.
    pub fn parse(code: &str) -> Option<Lang> {
        match code {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The cookie's choice, else the browser's first preference, else Chinese.
    pub fn of_request(headers: &HeaderMap) -> Lang {
        if let Some(l) = cookie(headers, LANG_COOKIE).and_then(Lang::parse) {
            return l;
        }
        let accept = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if accept.trim_start().starts_with("en") {
            Lang::En
        } else {
            Lang::Zh
        }
    }
}

/// The name of a vocabulary value in the reader's language.
pub trait NameFor: Named {
    /// The name shown to people reading `lang`.
    fn name_for(self, lang: Lang) -> &'static str {
        match lang {
            Lang::Zh => self.name_zh(),
            Lang::En => self.name_en(),
        }
    }
}

impl<T: Named> NameFor for T {}
