//! The tables of saved searches.

/// A buyer's saved search.
pub mod saved_search {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "saved_searches")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub user_id: i64,
        pub name: String,
        /// The query and filters, as JSON ([`super::super::SavedQuery`]).
        pub query: String,
        /// `instant`, `daily` or `off`.
        pub alert: crate::search::saved::Alert,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A listing newly on offer that matched a saved search.
pub mod hit {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "saved_search_hits")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub saved_search_id: i64,
        pub listing_id: i64,
        /// The outbox row of the change that put the listing on offer.
        pub occasion: i64,
        pub created_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
