//! The closed sets of words the API and the database share: statuses, tiers, roles,
//! purposes. Each is a snake_case string on the wire and in its `TEXT` column; `as_str`
//! and `FromStr` convert at the edges, and a word outside the set is an error
//! ([`UnknownValue`]), never a panic.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A word that names no member of the set it was read as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue {
    /// The set, e.g. `EventStatus`.
    pub kind: &'static str,
    pub value: String,
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {}: {:?}", self.kind, self.value)
    }
}

impl std::error::Error for UnknownValue {}

/// An enum of words: the variants with their text, `as_str`, `FromStr`, `TryFrom<String>`
/// (for reading a `TEXT` column), `Display` and serde, all from one list.
macro_rules! words {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $( $(#[$variant_meta])* #[serde(rename = $text)] $variant, )+
        }

        impl $name {
            /// Every member, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }
        }

        // By hand rather than derived: the derive does not see a `rename` whose text
        // comes from a macro argument, and would document the variant names instead.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl FromStr for $name {
            type Err = UnknownValue;

            fn from_str(text: &str) -> Result<Self, UnknownValue> {
                match text {
                    $( $text => Ok($name::$variant), )+
                    _ => Err(UnknownValue {
                        kind: stringify!($name),
                        value: text.to_owned(),
                    }),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = UnknownValue;

            fn try_from(text: String) -> Result<Self, UnknownValue> {
                text.parse()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

words! {
    /// Where an event is in its life.
    pub enum EventStatus {
        Upcoming = "upcoming",
        OnSale = "on_sale",
        SoldOut = "sold_out",
        Ended = "ended",
        Cancelled = "cancelled",
    }
}

words! {
    /// A seat on the map: free, held by a pending reservation, or sold.
    pub enum SeatStatus {
        Available = "available",
        Locked = "locked",
        Reserved = "reserved",
    }
}

words! {
    pub enum ReservationStatus {
        /// Held, awaiting payment until it expires.
        Pending = "pending",
        Confirmed = "confirmed",
        Cancelled = "cancelled",
        Expired = "expired",
    }
}

words! {
    /// A line of a reservation's history: the reservation statuses, and what happened to
    /// its money afterwards.
    pub enum HistoryStatus {
        Pending = "pending",
        Confirmed = "confirmed",
        Cancelled = "cancelled",
        Expired = "expired",
        Refunded = "refunded",
        /// The ticket was resold through a transfer and the seller's payment returned.
        SellerRefunded = "seller_refunded",
        /// An automatic refund failed and waits for an operator.
        RefundFailed = "refund_failed",
    }
}

words! {
    pub enum PaymentStatus {
        /// Opened, not yet sent to the provider.
        Ready = "ready",
        /// Claimed for confirmation; the provider is being asked.
        Confirming = "confirming",
        /// The provider gave no verdict (timeout, 5xx, unreadable answer): it may have
        /// charged. The reconciler asks it.
        Unknown = "unknown",
        /// Charged; what it pays for is not delivered yet (a reservation's ticket).
        Paid = "paid",
        /// Charged and delivered.
        Done = "done",
        /// Not charged: declined, or the provider says it never charged.
        Failed = "failed",
        /// The money is going back (and a reservation's ticket with it).
        Refunding = "refunding",
        /// The money went back.
        Refunded = "refunded",
    }
}

words! {
    /// What a payment pays for.
    pub enum PaymentPurpose {
        Reservation = "reservation",
        Membership = "membership",
        Transfer = "transfer",
    }
}

words! {
    /// Who takes the money: Toss Payments, or the sandbox that confirms at once.
    pub enum PaymentProvider {
        Toss = "toss",
        Sandbox = "sandbox",
    }
}

words! {
    pub enum MembershipStatus {
        /// Joined a paid club; awaiting its fee.
        Pending = "pending",
        Active = "active",
        /// Was active; its year ran out.
        Expired = "expired",
    }
}

words! {
    /// A fan-club member's tier, lowest first: the order is the rank.
    #[derive(PartialOrd, Ord)]
    pub enum MembershipTier {
        Silver = "silver",
        Gold = "gold",
        Diamond = "diamond",
    }
}

words! {
    /// Why a membership's points changed.
    pub enum PointReason {
        Join = "join",
        Purchase = "purchase",
        Refund = "refund",
        TransferOut = "transfer_out",
        TransferIn = "transfer_in",
    }
}

words! {
    pub enum TransferStatus {
        Listed = "listed",
        Completed = "completed",
        Cancelled = "cancelled",
    }
}

words! {
    /// How the seller of a transferred ticket is paid.
    pub enum Settlement {
        /// Their own payment is refunded, up to the buyer's price.
        Refund = "refund",
        /// The buyer's price is owed to them, paid out of band.
        Payout = "payout",
    }
}

words! {
    pub enum SettlementStatus {
        Pending = "pending",
        Refunded = "refunded",
        PayoutOwed = "payout_owed",
        Failed = "failed",
    }
}

words! {
    /// Which side of a transfer the caller is on.
    pub enum TransferRole {
        Seller = "seller",
        Buyer = "buyer",
    }
}

words! {
    pub enum Role {
        User = "user",
        /// Door staff: checks tickets in (docs/tickets.md).
        Staff = "staff",
        Admin = "admin",
    }
}

words! {
    /// Where the caller stands on an event's waiting list (docs/waiting-list.md).
    pub enum WaitlistStatus {
        /// Not on it.
        None = "none",
        /// Waiting for seats to come back.
        Waiting = "waiting",
        /// Seats are held for them: pay before the offer ends.
        Offered = "offered",
        /// They paid for their offer.
        Bought = "bought",
        /// Their offer lapsed or was declined; it went to the next person.
        Passed = "passed",
    }
}

words! {
    /// Where the caller stands in an event's Tier-2 queue.
    pub enum QueueStatus {
        /// Admitted: holds an entry token.
        Active = "active",
        Queued = "queued",
        /// Not in this event's queue.
        Absent = "none",
    }
}

words! {
    /// Where an invitation link stands (docs/architecture.md#invitations); derived from
    /// its row, never stored.
    pub enum InvitationStatus {
        /// Usable now.
        Active = "active",
        Redeemed = "redeemed",
        Revoked = "revoked",
        /// Past its expiry unused.
        Expired = "expired",
    }
}

words! {
    /// A line of an event's invitation audit log.
    pub enum InvitationAction {
        Minted = "minted",
        Redeemed = "redeemed",
        /// Someone tried the link and was turned away; the line says why.
        Refused = "refused",
        Revoked = "revoked",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// serde, `as_str` and `FromStr` agree for every member of a set, and a stranger is
    /// refused by both parsers.
    fn agree<T>(all: &[T], as_str: fn(T) -> &'static str)
    where
        T: Copy + PartialEq + fmt::Debug + FromStr<Err = UnknownValue> + Serialize,
        T: for<'de> Deserialize<'de>,
    {
        for &member in all {
            let text = as_str(member);
            assert_eq!(
                serde_json::to_value(member).ok(),
                Some(serde_json::Value::String(text.to_owned()))
            );
            assert_eq!(text.parse::<T>().ok(), Some(member));
            assert_eq!(
                serde_json::from_value::<T>(serde_json::json!(text)).ok(),
                Some(member)
            );
        }
        assert!("no-such-word".parse::<T>().is_err());
        assert!(serde_json::from_value::<T>(serde_json::json!("no-such-word")).is_err());
    }

    #[test]
    fn every_set_reads_back_what_it_writes() {
        agree(EventStatus::ALL, EventStatus::as_str);
        agree(SeatStatus::ALL, SeatStatus::as_str);
        agree(ReservationStatus::ALL, ReservationStatus::as_str);
        agree(HistoryStatus::ALL, HistoryStatus::as_str);
        agree(PaymentStatus::ALL, PaymentStatus::as_str);
        agree(PaymentPurpose::ALL, PaymentPurpose::as_str);
        agree(PaymentProvider::ALL, PaymentProvider::as_str);
        agree(MembershipStatus::ALL, MembershipStatus::as_str);
        agree(MembershipTier::ALL, MembershipTier::as_str);
        agree(PointReason::ALL, PointReason::as_str);
        agree(TransferStatus::ALL, TransferStatus::as_str);
        agree(Settlement::ALL, Settlement::as_str);
        agree(SettlementStatus::ALL, SettlementStatus::as_str);
        agree(TransferRole::ALL, TransferRole::as_str);
        agree(Role::ALL, Role::as_str);
        agree(QueueStatus::ALL, QueueStatus::as_str);
        agree(InvitationStatus::ALL, InvitationStatus::as_str);
        agree(InvitationAction::ALL, InvitationAction::as_str);
    }

    #[test]
    fn the_words_are_the_columns_words() {
        assert_eq!(EventStatus::OnSale.as_str(), "on_sale");
        assert_eq!(QueueStatus::Absent.as_str(), "none");
        assert_eq!(SettlementStatus::PayoutOwed.as_str(), "payout_owed");
        assert_eq!(
            "sold".parse::<SeatStatus>(),
            Err(UnknownValue {
                kind: "SeatStatus",
                value: "sold".into()
            })
        );
        assert_eq!(
            MembershipTier::try_from(String::from("gold")),
            Ok(MembershipTier::Gold),
            "TEXT columns read through TryFrom<String>"
        );
    }

    #[test]
    fn tiers_rank_in_order() {
        agree(WaitlistStatus::ALL, WaitlistStatus::as_str);
        assert!(MembershipTier::Silver < MembershipTier::Gold);
        assert!(MembershipTier::Gold < MembershipTier::Diamond);
    }
}
