//! Closed sets of values with a stable code and Chinese and English names.

/// Declares an enum whose values have a stored code, a Chinese name and an English name.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $code:literal, $zh:literal, $en:literal;)+ }) => {
        $(#[$meta])*
        ///
        /// Stored as its code: a column of this type reads only the codes it knows, and any
        /// other value stored there is an error, never a default.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, utoipa::ToSchema, sea_orm::DeriveValueType)]
        #[serde(rename_all = "snake_case")]
        #[sea_orm(value_type = "String")]
        pub enum $name { $($variant),+ }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::vocab::UnknownCode;

            fn from_str(code: &str) -> Result<Self, Self::Err> {
                $name::from_code(code).ok_or_else(|| $crate::vocab::UnknownCode {
                    vocabulary: stringify!($name),
                    code: code.to_string(),
                })
            }
        }

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

/// A stored code that its vocabulary does not know: the data is wrong, not the reader.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{vocabulary} has no value {code:?}")]
pub struct UnknownCode {
    pub vocabulary: &'static str,
    pub code: String,
}
