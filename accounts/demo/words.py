"""Word lists the demo company is composed from.

Names are built by combining these lists with a seeded `random.Random`, so
the same seed always yields the same company and no external data is needed.
"""

from __future__ import annotations

from accounts.models import Industry, Region

# fmt: off
NAME_STEMS = [
    "North", "Blue", "Silver", "Red", "Green", "Iron", "Bright", "Clear", "Stone", "Oak",
    "Cedar", "Maple", "River", "Harbor", "Summit", "Peak", "Pine", "Falcon", "Eagle", "Fox",
    "Wolf", "Bear", "Lark", "Wren", "Orion", "Nova", "Polar", "Solar", "Lunar", "Atlas",
    "Apex", "Vertex", "Quantum", "Vector", "Delta", "Sigma", "Nimbus", "Cobalt", "Amber", "Copper",
    "Granite", "Crystal", "Meadow", "Willow", "Aspen", "Birch", "Beacon", "Compass", "Anchor", "Lighthouse",
    "Horizon", "Frontier", "Pioneer", "Keystone", "Cornerstone", "Evergreen", "Highland", "Lakeside", "Westward", "Eastgate",
]
NAME_TAILS = [
    "wind", "field", "bridge", "gate", "point", "works", "line", "stone", "wave", "path",
    "crest", "ridge", "view", "light", "haven", "brook", "mark", "star", "forge", "hill",
    "shore", "leaf", "well", "way", "port", "vale", "wood", "rock", "spring", "cloud",
]
INDUSTRY_NOUNS: dict[str, list[str]] = {
    Industry.SOFTWARE: ["Software", "Labs", "Analytics", "Systems", "Cloud", "Data", "AI", "Digital"],
    Industry.FINANCIAL_SERVICES: ["Capital", "Bank", "Financial", "Insurance", "Partners", "Credit Union", "Payments", "Wealth"],
    Industry.HEALTHCARE: ["Health", "Medical", "Clinics", "Care", "Biotech", "Pharma", "Diagnostics", "Hospital Group"],
    Industry.EDUCATION: ["University", "College", "Academy", "Learning", "Schools", "Institute", "EdTech", "Campus"],
    Industry.RETAIL: ["Retail", "Stores", "Outfitters", "Market", "Goods", "Commerce", "Home", "Brands"],
    Industry.MANUFACTURING: ["Manufacturing", "Industries", "Components", "Machinery", "Plastics", "Steel", "Robotics", "Fabrication"],
    Industry.MEDIA: ["Media", "Studios", "Publishing", "Broadcasting", "Entertainment", "Press", "Games", "Records"],
    Industry.PUBLIC_SECTOR: ["City Council", "County", "Agency", "Authority", "Municipality", "Transit", "Water Board", "Library Service"],
    Industry.LOGISTICS: ["Logistics", "Freight", "Shipping", "Transport", "Couriers", "Supply", "Fleet", "Cargo"],
    Industry.ENERGY: ["Energy", "Power", "Utilities", "Renewables", "Solar", "Grid", "Wind Farms", "Oil & Gas"],
}
REGION_TLDS: dict[str, list[str]] = {
    Region.NORTH_AMERICA: ["com", "com", "io", "ca", "us"],
    Region.EMEA: ["com", "de", "co.uk", "fr", "nl", "se", "ee", "es"],
    Region.APAC: ["com", "com.au", "co.nz", "sg", "jp", "in"],
    Region.LATAM: ["com", "com.br", "com.mx", "cl", "com.ar"],
}
REGION_CURRENCIES: dict[str, list[str]] = {
    Region.NORTH_AMERICA: ["USD"],
    Region.EMEA: ["EUR", "EUR", "GBP", "USD"],
    Region.APAC: ["USD", "AUD", "SGD"],
    Region.LATAM: ["USD", "BRL"],
}

FIRST_NAMES = [
    "Aino", "Aisha", "Akira", "Alejandro", "Amara", "Ana", "Andrei", "Anna", "Arjun", "Astrid",
    "Beatriz", "Ben", "Camila", "Carlos", "Chloe", "Daniel", "Darius", "Dmitri", "Elena", "Elif",
    "Emma", "Erik", "Fatima", "Felix", "Gabriel", "Grace", "Hana", "Hannah", "Hugo", "Ibrahim",
    "Ines", "Isabel", "Ivan", "Jakob", "James", "Jana", "Javier", "Jin", "Joao", "Julia",
    "Kai", "Karin", "Kenji", "Kofi", "Laura", "Leila", "Leo", "Liam", "Lucia", "Luis",
    "Maja", "Marco", "Mariam", "Mateo", "Mei", "Mihail", "Mina", "Nadia", "Naomi", "Nikolai",
    "Noah", "Nora", "Olga", "Oliver", "Paula", "Pedro", "Priyanka", "Rafael", "Rahul", "Reza",
    "Rosa", "Ruth", "Sara", "Sebastian", "Shirin", "Simone", "Sophie", "Tariq", "Tomas", "Valentina",
    "Viktor", "Wei", "Yara", "Yusuf", "Zara", "Zoe", "Marta", "Kalle", "Liis", "Mart",
]
LAST_NAMES = [
    "Abbott", "Achterberg", "Adeyemi", "Alvarez", "Andersen", "Bakker", "Becker", "Bianchi", "Brennan", "Castillo",
    "Chen", "Costa", "Dahl", "Dubois", "Eriksson", "Farouk", "Fischer", "Fontaine", "Garcia", "Gupta",
    "Haddad", "Hansen", "Hoffmann", "Ivanova", "Jansen", "Jensen", "Kaur", "Kim", "Kowalski", "Kruger",
    "Lambert", "Larsen", "Lee", "Lindqvist", "Lopez", "Mahmoud", "Martin", "Meyer", "Moreau", "Murphy",
    "Nakamura", "Nguyen", "Novak", "Oconnor", "Okafor", "Olsen", "Ortiz", "Park", "Patel", "Pereira",
    "Petrov", "Quinn", "Rahimi", "Ramos", "Rossi", "Sato", "Schmidt", "Silva", "Singh", "Sokolov",
    "Suzuki", "Tamm", "Tanaka", "Torres", "Varga", "Vogel", "Wagner", "Walsh", "Weber", "Wong",
    "Yilmaz", "Zhang", "Ziegler", "Kask", "Saar", "Rebane", "Moradi", "Karimi", "Huang", "Morales",
]

# Titles by depth in a customer's org chart: 0 is the top of the tree.
TITLES_BY_LEVEL = [
    ["Chief Executive Officer", "Chief Operating Officer", "Chief Technology Officer", "Chief Financial Officer",
     "VP Operations", "Managing Director", "Chief Customer Officer", "Chief Information Officer"],
    ["VP Engineering", "Director of Operations", "Head of Customer Support", "Director of IT",
     "Head of Finance", "VP Sales", "Head of Data", "Director of Product", "Head of Procurement"],
    ["Engineering Manager", "Operations Manager", "Support Team Lead", "IT Manager", "Finance Manager",
     "Sales Operations Manager", "Data Team Lead", "Product Manager", "Project Manager"],
    ["Senior Analyst", "Systems Administrator", "Support Specialist", "Data Analyst", "Developer",
     "Operations Specialist", "Business Analyst", "Solutions Engineer"],
]

# fmt: on

TAG_NAMES = [
    "reference-customer",
    "expansion-opportunity",
    "multi-product",
    "design-partner",
    "exec-sponsor",
    "hard-implementation",
    "price-sensitive",
    "beta-program",
    "procurement-heavy",
    "eu-data-residency",
    "m&a-customer",
    "shared-investor",
    "case-study",
    "api-heavy",
    "seasonal-usage",
]

WHY_THEY_BOUGHT = [
    "Replacing spreadsheets and a homegrown tool that {team} had outgrown; the pilot cut weekly reporting from two days to two hours.",
    "Consolidating three regional tools after an acquisition; {team} wanted one system of record before their next audit.",
    "Their board asked for a clear view of {metric}; we were the only vendor with {feature} out of the box.",
    "Growth outpaced the old process: {team} was onboarding twice as many customers with the same headcount.",
    "Won against a competitor on {feature} and the integration with {tool}; price was a close second.",
    "Compliance deadline ({deadline}) forced a change; our {feature} and EU hosting closed it.",
    "A new {role} joined from one of our customers and brought us in.",
    "They want to improve {metric} by 20% this fiscal year and saw our case study in {industry}.",
]
WHY_TEAMS = [
    "operations",
    "the support team",
    "finance",
    "customer success",
    "the data team",
    "IT",
    "sales operations",
]
WHY_METRICS = [
    "net retention",
    "time to value",
    "first-response time",
    "on-time delivery",
    "cost per ticket",
    "utilisation",
]
WHY_FEATURES = [
    "role-based dashboards",
    "the workflow builder",
    "audit trails",
    "the open API",
    "SSO and SCIM",
    "usage analytics",
]
WHY_ROLES = [
    "COO",
    "Head of Operations",
    "VP Customer Experience",
    "CIO",
    "Director of IT",
]
WHY_DEADLINES = [
    "SOC 2 renewal",
    "GDPR review",
    "ISO 27001 audit",
    "a regulator's deadline",
    "their IPO readiness review",
]

TECH_TOOLS: dict[str, list[str]] = {
    "crm": ["Salesforce", "HubSpot", "Pipedrive", "Microsoft Dynamics"],
    "support": [
        "Zendesk",
        "Freshdesk",
        "ServiceNow",
        "Intercom",
        "Jira Service Management",
    ],
    "identity": ["Okta", "Azure AD", "Google Workspace", "OneLogin"],
    "warehouse": ["Snowflake", "BigQuery", "Redshift", "Databricks"],
    "bi": ["Looker", "Power BI", "Tableau", "Metabase"],
    "chat": ["Slack", "Microsoft Teams", "Google Chat"],
    "erp": ["SAP", "NetSuite", "Workday", "Oracle"],
    "cloud": ["AWS", "Azure", "Google Cloud"],
}
TECH_STACK_NOTES = [
    "CRM: {crm}. Support: {support}. SSO through {identity}; SCIM provisioning enabled.",
    "Data lands in {warehouse} nightly; dashboards in {bi}. They asked about a native {crm} connector.",
    "Runs on {cloud}. Tickets flow from {support}; the team lives in {chat}.",
    "{erp} is the system of record for finance; {crm} for sales. Security review needed for anything touching {identity}.",
    "Heavy API users: sync with {crm} every 15 minutes. Alerts go to {chat}. Evaluating {bi}.",
]

TOUCHPOINT_SUMMARIES: dict[str, list[str]] = {
    "call": [
        "Bi-weekly check-in: rollout on track",
        "Check-in call: questions about reporting",
        "Call about the upcoming renewal",
        "Escalation call: sync delays last week",
        "Check-in: new team members onboarded",
        "Call with the champion about expansion",
        "Pricing questions ahead of budget season",
    ],
    "meeting": [
        "Workshop: configuring workflows",
        "Training session for new users",
        "On-site visit with the operations team",
        "Roadmap preview with their product leads",
        "Success plan review",
    ],
    "email": [
        "Sent the monthly usage summary",
        "Shared release notes and the new API docs",
        "Followed up on open support tickets",
        "Sent renewal quote",
        "Invitation to the customer webinar",
        "Shared best-practice guide for admins",
    ],
    "chat": [
        "Quick question about SSO settings",
        "Asked for a report template",
        "Flagged a slow dashboard, resolved same day",
        "Heads-up about a reorg in their team",
        "Thanks for the quick fix on the import",
    ],
    "qbr": [
        "QBR: adoption up, agreed goals for next quarter",
        "QBR: reviewed ROI and the expansion proposal",
        "QBR: usage flat, agreed an enablement plan",
        "Executive business review with the sponsor",
    ],
}
KICK_OFF = "Kick-off meeting with the project team"
# A touchpoint's notes: what was said, then what happens next. Combined, they
# give dozens of variations, so one account's timeline does not repeat itself.
TOUCHPOINT_OPENERS = [
    "{champion} is happy with progress and wants a second workshop for {team}.",
    "Went through the open ticket backlog; {champion} asked for weekly updates until it is cleared.",
    "They plan to roll out to two more departments after the fiscal year starts.",
    "Concern raised about the price increase; {champion} will take it to {decision_maker}.",
    "Good energy. They offered to be a reference for other {industry} customers.",
    "Usage dipped last month because of holidays; {champion} expects it to recover.",
    "New team lead in {team} has not logged in yet.",
    "Reviewed the success plan: two of three goals on track.",
    "{decision_maker} joined for the first 15 minutes and asked about the roadmap.",
    "Integration with their data warehouse is live; reports now refresh hourly.",
    "{champion} is stretched thin this quarter; keep updates short.",
    "Asked how other {industry} customers structure their admin roles.",
]
TOUCHPOINT_NEXT_STEPS = [
    "Next: admin training, then a usage review in four weeks.",
    "Next: send the ROI summary before their budget meeting.",
    "Next: book the QBR and invite {decision_maker}.",
    "Next: follow up with support on the two oldest tickets.",
    "Next: share the enablement plan with {team}.",
    "Next: check in again in two weeks.",
    "",
    "",
]
NOTES = [
    (
        "Relationship context",
        "{champion} prefers chat over email and replies fast. {decision_maker} wants one-page summaries, never slides.",
    ),
    (
        "Decision rhythm",
        "Cautious buyer: every change goes through procurement and a security review, plan 6 weeks.",
    ),
    (
        "Past issues",
        "Hard implementation last year: data migration slipped by a month. Trust was rebuilt by weekly calls.",
    ),
    (
        "Blocker",
        "Waiting on their IT team to enable SSO; blocks rollout to the second office.",
    ),
    (
        "Expansion",
        "{champion} hinted at budget for the analytics add-on next fiscal year.",
    ),
    (
        "Stakeholders",
        "{decision_maker} signs; {champion} drives day-to-day. Finance is sceptical of the ROI.",
    ),
    (
        "History",
        "Came in through a partner. Shared investor with us; the CEO knows ours.",
    ),
]
RISKS = [
    ("budget_cut", "Budget freeze announced for next quarter"),
    ("reorg", "Reorganisation: the team using us moves under a new VP"),
    ("competitor", "Competitor pitched a cheaper bundle to their CFO"),
    ("external_event", "Supply-chain disruption hits their business"),
    ("product_gap", "Missing offline mode is blocking the field team"),
    ("other", "Payment delays on the last two invoices"),
]
STAGE_REASONS = {
    "adoption": [
        "Go-live done, first teams active",
        "Onboarding checklist complete",
        "Kick-off goals met",
    ],
    "success": [
        "Usage stable across teams",
        "Goals in the success plan met",
        "Running on autopilot",
    ],
    "at_risk": [
        "Usage falling and champion unresponsive",
        "Budget cut announced",
        "Competitor in evaluation",
    ],
    "churned": [
        "Did not renew",
        "Moved to a competitor",
        "Business closed the unit that used us",
    ],
}
