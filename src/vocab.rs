//! Closed sets of values with a stable code and Chinese and English names.

/// Declares an enum whose values have a stored code, a Chinese name and an English name.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $code:literal, $zh:literal, $en:literal;)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in display order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable code stored and sent over the API.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// The Chinese name shown to people.
            pub fn name_zh(self) -> &'static str {
                match self { $($name::$variant => $zh),+ }
            }

            /// The English name shown to people.
            pub fn name_en(self) -> &'static str {
                match self { $($name::$variant => $en),+ }
            }

            /// The value for a Chinese name, as people type it in a sheet.
            pub fn from_name_zh(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.name_zh() == name)
            }

            /// The value for a code, if any.
            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }

            /// All codes joined for error messages.
            pub fn codes() -> String {
                Self::ALL.iter().map(|v| v.code()).collect::<Vec<_>>().join(", ")
            }
        }

        impl $crate::vocab::Named for $name {
            fn name_zh(self) -> &'static str {
                $name::name_zh(self)
            }

            fn name_en(self) -> &'static str {
                $name::name_en(self)
            }
        }
    };
}

/// A value with a Chinese and an English name, as every vocabulary value has.
pub trait Named: Copy {
    /// The Chinese name.
    fn name_zh(self) -> &'static str;
    /// The English name.
    fn name_en(self) -> &'static str;
}
