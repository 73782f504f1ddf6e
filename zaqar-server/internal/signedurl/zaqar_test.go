package signedurl

// zaqarSignature was printed by Zaqar 15 (zaqar.common.urls.create_signed_url).
const zaqarSignature = "ce9fdc81dea1a4bc72357d835de71febf1a511e971c1098cf9f91867833839a1"
