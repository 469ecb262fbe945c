"""The scenario conversations: what a new user asks, by category, with first-principles expectations.

Each category mixes the orchestrators (moe, smartrouter) and the specialists, so references
across specialists, stale entities and follow-ups are tried where they are hardest: between
experts that do not share tool memory.
"""

from __future__ import annotations

from tests.scenarios.expectations import (
    Asks,
    Conversation,
    Declines,
    Expect,
    Replies,
    annuity_payment,
    compound,
    conversation,
    converted,
    haversine_km,
    hours_ahead,
    local,
    on_agents,
    savings_future_value,
)

ORCHESTRATORS = ("moe", "smartrouter")
CLOCK_AGENTS = ("clock", *ORCHESTRATORS)
FINANCE_AGENTS = ("finance", *ORCHESTRATORS)
MATH_AGENTS = ("calculator", *ORCHESTRATORS)


def distance(a: str, b: str) -> Expect:
    """The great-circle distance, within 1% or 5 km: where a city's centre is differs between sources."""
    return Expect(f"{a}-{b} distance", numbers=(haversine_km(a, b),), rel=0.01, absolute=5.0)


def time_in(place: str, hours_from_now: float = 0, *, forbid: tuple[str, ...] = ()) -> Expect:
    return Expect(f"time in {place}", texts=(local(place, hours_from_now=hours_from_now),), forbidden=forbid)


def loan(principal: float, rate: float, years: float) -> Expect:
    return Expect(f"payment on {principal:g} at {rate:g}% over {years:g}y",
                  numbers=(annuity_payment(principal, rate, years),))


def value(describe: str, number: float) -> Expect:
    return Expect(describe, numbers=(number,), rel=1e-6)


def references() -> list[Conversation]:
    return [
        *on_agents(ORCHESTRATORS, "references",
                   ("How far is Lisbon from Madrid?", distance("Lisbon", "Madrid")),
                   ("What time is it in the second one?", time_in("Madrid"))),
        *on_agents(ORCHESTRATORS, "references",
                   ("How far is Paris from Berlin?", distance("Paris", "Berlin")),
                   ("What time is it in the first one?", time_in("Paris"))),
        *on_agents(ORCHESTRATORS, "references",
                   ("Where is Kyoto?", Expect("Kyoto in Japan", texts=("Japan",))),
                   ("What time is it there?", time_in("Kyoto"))),
        *on_agents(ORCHESTRATORS, "references",
                   ("How far is Rome from Sydney?", distance("Rome", "Sydney")),
                   ("What time is it there?", Asks("which of the two", ("Rome", "Sydney")))),
        conversation("references", "geo",
                     ("Where is Cairo?", Expect("Cairo in Egypt", texts=("Egypt",))),
                     ("How far is it from Paris?", distance("Paris", "Cairo"))),
        conversation("references", "moe",
                     ("Where is Toronto?", Expect("Toronto in Canada", texts=("Canada",))),
                     ("How far is it from Chicago?", distance("Toronto", "Chicago"))),
        conversation("references", "clock",
                     ("What time is it in Tokyo?", time_in("Tokyo")),
                     ("And in London?", time_in("London"))),
        conversation("references", "moe",
                     ("How far is Berlin from Rome?", distance("Berlin", "Rome")),
                     ("And from Madrid?", distance("Berlin", "Madrid"))),
        conversation("references", "geo",
                     ("Where are Paris and Rome?", Expect("both places", texts=("France", "Italy"))),
                     ("How far apart are they?", distance("Paris", "Rome"))),
        conversation("references", "moe",
                     ("What time is it in Lisbon?", time_in("Lisbon")),
                     ("How far is that from Madrid?", distance("Lisbon", "Madrid"))),
        conversation("references", "moe",
                     ("Where is Sydney?", Expect("Sydney in Australia", texts=("Australia",))),
                     ("How many people live there?", Expect("Sydney's population", texts=("Sydney", "population")))),
        *on_agents(ORCHESTRATORS, "references",
                   ("My home town is Lisbon", Expect("acknowledged", texts=("Lisbon",))),
                   ("Where is Kyoto?", Expect("Kyoto in Japan", texts=("Japan",))),
                   ("What time is it in my home town?", time_in("Lisbon", forbid=("Kyoto", "Tokyo"))),
                   ("How far is my home town from Madrid?", distance("Lisbon", "Madrid"))),
        conversation("references", "clock",
                     ("What time is it in my office?", Asks("where the office is", ("office",)))),
        conversation("references", "moe",
                     ("What time is it in Tokyo?", time_in("Tokyo")),
                     ("And the distance from there to Kyoto?", distance("Tokyo", "Kyoto"))),
        conversation("references", "geo",
                     ("Where is Kyoto?", Expect("Kyoto in Japan", texts=("Japan",))),
                     ("What is the population of Rome?", Expect("Rome's population", texts=("Rome", "population"))),
                     ("How far apart are they?", distance("Kyoto", "Rome"))),
        conversation("references", "clock",
                     ("What time is it in New York?", time_in("New York")),
                     ("And in Chicago?", time_in("Chicago")),
                     ("What's the difference between them?",
                      Expect("one hour", texts=(f"{abs(hours_ahead('Chicago', 'New York')):g} hour",)))),
        conversation("references", "moe",
                     ("My loan is 200k at 5% for 30 years", Expect("acknowledged", texts=("200k",))),
                     ("What's the monthly payment?", loan(200000, 5, 30))),
        conversation("references", "moe",
                     ("What time is it in Tokyo?", time_in("Tokyo")),
                     ("What about in 3 hours?", time_in("Tokyo", 3))),
        *on_agents(("clock", "moe"), "references",
                   ("My favourite city is Lisbon", Expect("acknowledged", texts=("Lisbon",))),
                   # the time, and nothing unasked: no geocode of the city (its population or coordinates)
                   ("What time is it in my favourite city?", time_in("Lisbon", forbid=("population", "°N", "°S")))),
        conversation("references", "smartrouter",
                     ("Where is Kyoto?", Expect("Kyoto in Japan", texts=("Japan",))),
                     ("What's 20% of 150?", value("30", 30)),
                     ("What time is it there?", time_in("Kyoto"))),
        *on_agents(FINANCE_AGENTS, "references",
                   ("What is the monthly payment on a 200000 loan at 5% over 30 years?", loan(200000, 5, 30)),
                   ("And a 300000 loan at 4% over 15 years?", loan(300000, 4, 15)),
                   ("What about the first loan over 20 years?", loan(200000, 5, 20))),
    ]


def stale_entities() -> list[Conversation]:
    return [
        conversation("stale", "moe",
                     ("What time is it in Tokyo?", time_in("Tokyo")),
                     ("What time is it in UTC?", time_in("UTC"))),
        conversation("stale", "clock",
                     ("What time is it in Paris?", time_in("Paris")),
                     ("What time is it in PST?", time_in("PST"))),
        conversation("stale", "smartrouter",
                     ("What time is it in Sydney?", time_in("Sydney")),
                     ("What about EST?", time_in("EST"))),
        conversation("stale", "moe",
                     ("What time is it in Tokyo?", time_in("Tokyo")),
                     ("If I save 500 a month for 10 years at 5%, how much will I have?",
                      Expect("savings 500/month", numbers=(savings_future_value(500, 5, 10),), forbidden=("loan",)))),
        *on_agents(ORCHESTRATORS, "stale",
                   ("Where is Kyoto?", Expect("Kyoto in Japan", texts=("Japan",))),
                   ("Where is Lisbon?", Expect("Lisbon in Portugal", texts=("Portugal",))),
                   ("What time is it there?", time_in("Lisbon", forbid=("Kyoto", "Tokyo")))),
        conversation("stale", "moe",
                     ("What time is it in Tokyo?", time_in("Tokyo")),
                     ("How far is Lisbon from Madrid?", distance("Lisbon", "Madrid")),
                     ("What time is it in the second one?", time_in("Madrid", forbid=("Tokyo",)))),
        conversation("stale", "finance",
                     ("What is a 100000 loan at 6% over 10 years per month?", loan(100000, 6, 10)),
                     ("What is the monthly payment on 50000 at 3% over 5 years?", loan(50000, 3, 5))),
        conversation("stale", "moe",
                     ("How many hours difference between New York and Los Angeles?",
                      Expect("3 hours", texts=("3 hours",))),
                     ("What time is it in Tokyo right now?", time_in("Tokyo", forbid=("Los Angeles",)))),
        conversation("stale", "moe",
                     ("What time is it in Paris?", time_in("Paris")),
                     ("How much is a 5% loan over 20 years?", Asks("the amount", ("principal",))),
                     ("What is the monthly payment on a loan of 250000?", loan(250000, 5, 20))),
        conversation("stale", "smartrouter",
                     ("What time is it in Berlin?", time_in("Berlin")),
                     ("What is the monthly payment on a 10000 loan at 4% over 2 years?", loan(10000, 4, 2))),
    ]


def multi_part() -> list[Conversation]:
    return [
        *on_agents(ORCHESTRATORS, "multi-part",
                   ("How far is Paris from London and what time is it in Tokyo?",
                    Expect("distance and Tokyo time", numbers=(haversine_km("Paris", "London"),),
                           texts=(local("Tokyo"),), rel=0.01))),
        conversation("multi-part", "moe",
                     ("What's the distance between Berlin and Rome in miles?",
                      Expect("only the distance", numbers=(haversine_km("Berlin", "Rome") / 1.609344,), rel=0.01,
                             absolute=3.0, forbidden=("same time", "ahead")))),
        *on_agents(ORCHESTRATORS, "multi-part",
                   ("Where is Kyoto and what time is it there?",
                    Expect("Kyoto and its time", texts=("Japan", local("Kyoto"))))),
        *on_agents(ORCHESTRATORS, "multi-part",
                   ("What time is it in Berlin? And what is 17 times 23?",
                    Expect("Berlin time and 391", numbers=(391,), texts=(local("Berlin"),)))),
        *on_agents(ORCHESTRATORS, "multi-part",
                   ("How far is Rome from Berlin and what is 15% of 80?",
                    Expect("distance and 12", numbers=(haversine_km("Rome", "Berlin"), 12), rel=0.01))),
        *on_agents(ORCHESTRATORS, "multi-part",
                   ("What is the monthly payment on a 20000 loan at 5% over 5 years and what time is it in New York?",
                    Expect("payment and New York time", numbers=(annuity_payment(20000, 5, 5),),
                           texts=(local("New York"),)))),
    ]


def three_parts() -> list[Conversation]:
    """A question in three parts, the third pointing back at the first."""
    return on_agents(ORCHESTRATORS, "multi-part",
                     ("Where is Kyoto and what time is it there and how far is it from Tokyo?",
                      Expect("place, time and distance", numbers=(haversine_km("Kyoto", "Tokyo"),),
                             texts=("Japan", local("Kyoto")), rel=0.01, absolute=5.0)))


def time_conversions() -> list[Conversation]:
    return [
        *on_agents(CLOCK_AGENTS, "time",
                   ("If it's 3pm in London what time is it in New York?",
                    Expect("3pm London in New York", texts=(converted(15, 0, "London", "New York"),)))),
        *on_agents(CLOCK_AGENTS, "time",
                   ("What's the time difference between Paris and Tokyo?",
                    Expect("Tokyo ahead of Paris", texts=(f"{hours_ahead('Paris', 'Tokyo'):g} hours",)))),
        *on_agents(CLOCK_AGENTS, "time",
                   ("What time will it be in Lisbon in 5 hours?", time_in("Lisbon", 5))),
        conversation("time", "clock",
                     ("Convert 9am Tokyo time to Paris",
                      Expect("9am Tokyo in Paris", texts=(converted(9, 0, "Tokyo", "Paris"),)))),
        conversation("time", "moe",
                     ("What time is it in New York in 90 minutes?", time_in("New York", 1.5))),
        conversation("time", "moe",
                     ("What's the time in Mumbai?", time_in("Mumbai")),
                     ("What time is it in Tokyo in 2.5 hours?", time_in("Tokyo", 2.5))),
        conversation("time", "smartrouter",
                     ("What time is it in Sydney?", time_in("Sydney")),
                     ("And in Paris?", time_in("Paris"))),
        conversation("time", "clock",
                     ("What time is it in Paris, Texas?", time_in("Paris, Texas", forbid=("France",)))),
        conversation("time", "clock",
                     ("What time is it in London when it's 9am in New York?",
                      Expect("9am New York in London", texts=(converted(9, 0, "New York", "London"),))),
                     ("Convert 18:00 Paris time to Tokyo time",
                      Expect("18:00 Paris in Tokyo", texts=(converted(18, 0, "Paris", "Tokyo"),))),
                     ("When it is noon in Sydney, what time is it in London?",
                      Expect("noon Sydney in London", texts=(converted(12, 0, "Sydney", "London"),)))),
        *on_agents(("clock", "moe"), "time",
                   ("How many hours ahead is Tokyo of London?",
                    Expect("Tokyo ahead of London", texts=(f"{hours_ahead('London', 'Tokyo'):g} hours",)))),
        *on_agents(("clock", "smartrouter"), "time",
                   ("What time was it in Berlin 3 hours ago?", time_in("Berlin", -3))),
        *on_agents(CLOCK_AGENTS, "time",
                   ("What time is it in Tokyo and in London?",
                    Expect("both times", texts=(local("Tokyo"), local("London"))))),
        conversation("time", "moe", ("What time is it in Gondor?", Declines("unknown place", ("Gondor",)))),
        *on_agents(ORCHESTRATORS, "time",
                   ("What is 5pm EST in London?", Expect("5pm EST in London",
                                                         texts=(converted(17, 0, "EST", "London"),)))),
    ]


def loan_terms() -> list[Conversation]:
    return [
        *on_agents(FINANCE_AGENTS, "loans",
                   ("25k car loan at 7% over 60 months", loan(25000, 7, 5))),
        conversation("loans", "finance",
                     ("Monthly payment on a $350,000 mortgage at 6.5% for 30 years?", loan(350000, 6.5, 30))),
        conversation("loans", "moe",
                     ("What is the monthly payment on a 18000 loan at 4.5% over 18 months?", loan(18000, 4.5, 1.5))),
        conversation("loans", "finance",
                     ("I want to borrow 15000 for 3 years at 6%. What's the monthly payment?", loan(15000, 6, 3)),
                     ("Mortgage of 400k over 25 years at 3.9%", loan(400000, 3.9, 25)),
                     ("What would I pay monthly for a 30000 loan at 5.5% over 48 months?", loan(30000, 5.5, 4)),
                     ("Car loan: 20000, 36 months, 4.9%", loan(20000, 4.9, 3))),
        conversation("loans", "smartrouter",
                     ("What is the total interest on a 100000 loan at 5% over 20 years?",
                      Expect("total interest", numbers=(annuity_payment(100000, 5, 20) * 240 - 100000,), rel=1e-4))),
        conversation("loans", "finance",
                     ("What's the payment on 300k at 6% over 30 years?", loan(300000, 6, 30)),
                     ("What about 250k?", loan(250000, 6, 30)),
                     ("And at 4.5%?", loan(250000, 4.5, 30))),
        *on_agents(FINANCE_AGENTS, "loans",
                   ("What's the monthly payment for a $500,000 house with 20% down at 6% for 30 years?",
                    Asks("which percentage is the rate", ("20%", "6%")))),
        conversation("loans", "finance",
                     ("5-year loan of 20000 at 3%", loan(20000, 3, 5)),
                     ("a 30 year mortgage at 6% on 300k", loan(300000, 6, 30))),
        conversation("loans", "finance",
                     ("What is the monthly payment on 150000 at 4% over 25 years?", loan(150000, 4, 25)),
                     ("What about at 3.5%?", loan(150000, 3.5, 25))),
        *on_agents(ORCHESTRATORS, "loans",
                   ("How much is the monthly payment on a 200k mortgage at 5% over 30 years?", loan(200000, 5, 30)),
                   ("And over 15 years?", loan(200000, 5, 15))),
    ]


def savings() -> list[Conversation]:
    return [
        *on_agents(FINANCE_AGENTS, "savings",
                   ("If I save 500 a month for 10 years at 5%, how much will I have?",
                    Expect("500/month for 10y at 5%", numbers=(savings_future_value(500, 5, 10),)))),
        conversation("savings", "finance",
                     ("How much will 10000 grow at 6% compounded monthly over 10 years?",
                      Expect("monthly compounding", numbers=(compound(10000, 6, 10, 12),)))),
        conversation("savings", "moe",
                     ("What will 5000 be worth after 8 years at 4% compounded quarterly?",
                      Expect("quarterly compounding", numbers=(compound(5000, 4, 8, 4),)))),
        conversation("savings", "moe",
                     ("If I have 20000 and it grows 8% a year for 15 years, what do I end up with?",
                      Expect("annual compounding", numbers=(compound(20000, 8, 15),))),
                     ("what if it was compounded monthly?",
                      Expect("monthly compounding", numbers=(compound(20000, 8, 15, 12),)))),
        conversation("savings", "finance",
                     ("How much will 1000 grow at 7% over 10 years?",
                      Expect("annual compounding", numbers=(compound(1000, 7, 10),)))),
        conversation("savings", "finance",
                     ("If I put 300 a month into savings at 4% for 20 years, how much will I have?",
                      Expect("300/month for 20y at 4%", numbers=(savings_future_value(300, 4, 20),))),
                     ("I have 5000 saved and add 100 a month at 5% for 10 years. How much will I have?",
                      Expect("5000 plus 100/month", numbers=(compound(5000, 5, 10, 12)
                                                              + savings_future_value(100, 5, 10),))),
                     ("How much do I need to save each month to have 100000 in 10 years at 5%?",
                      Asks("the goal-seek is not a tool's question", ("monthly deposit",)))),
        *on_agents(FINANCE_AGENTS, "savings",
                   ("How much interest will 5000 earn at 4% over 10 years?",
                    Expect("interest earned, compounded yearly", numbers=(compound(5000, 4, 10) - 5000,)))),
        conversation("savings", "smartrouter",
                     ("I save 200 a month at 3% for 5 years. How much will I have?",
                      Expect("200/month for 5y at 3%", numbers=(savings_future_value(200, 3, 5),)))),
    ]


def percentages() -> list[Conversation]:
    payment = annuity_payment(200000, 5, 30)
    return [
        *on_agents(FINANCE_AGENTS, "percentages",
                   ("What is the monthly payment on a 200000 loan at 5% over 30 years?", loan(200000, 5, 30)),
                   ("What's 20% of my monthly payment?", Expect("20% of the payment", numbers=(0.2 * payment,),
                                                                absolute=0.01))),
        conversation("percentages", "calculator",
                     ("What is 250 times 4?", value("1000", 1000)),
                     ("What's 15% of that?", value("150", 150))),
        conversation("percentages", "finance",
                     ("What is the percentage change from 80 to 100?", value("25%", 25))),
        *on_agents(MATH_AGENTS, "percentages", ("What's 5% of 1 million?", value("50,000", 50000))),
        conversation("percentages", "moe",
                     ("What is 12% of 450?", value("54", 54))),
        *on_agents(MATH_AGENTS, "percentages", ("What percentage is 30 of 120?", value("25", 25))),
        conversation("percentages", "moe",
                     ("What is the monthly payment on a 300000 loan at 5% over 30 years?", loan(300000, 5, 30)),
                     ("What is the monthly payment on a 200000 loan at 4% over 15 years?", loan(200000, 4, 15)),
                     ("What's the difference between the two payments?",
                      Expect("difference", numbers=(round(annuity_payment(300000, 5, 30), 2)
                                                    - round(annuity_payment(200000, 4, 15), 2),)))),
        conversation("percentages", "calculator",
                     ("Increase 80 by 15%", value("92", 92)),
                     ("What is 7.5% of 1200?", value("90", 90))),
        conversation("percentages", "moe",
                     ("What is the total interest on a 100000 loan at 5% over 20 years?",
                      Expect("total interest", numbers=(annuity_payment(100000, 5, 20) * 240 - 100000,), rel=1e-4)),
                     ("What's 10% of the total interest?",
                      Expect("10% of it", numbers=(0.1 * round(annuity_payment(100000, 5, 20) * 240 - 100000, 2),),
                             rel=1e-4))),
    ]


def worded_arithmetic() -> list[Conversation]:
    return [
        *on_agents(MATH_AGENTS, "arithmetic", ("15% of 80", value("12", 12))),
        *on_agents(MATH_AGENTS, "arithmetic", ("What is the square root of 144?", value("12", 12))),
        conversation("arithmetic", "calculator",
                     ("100 minus 37", value("63", 63)),
                     ("Add 10 to that", value("73", 73))),
        conversation("arithmetic", "moe",
                     ("Divide 1000 by 12", value("83.33", 1000 / 12)),
                     ("Add 10 to that", value("93.33", 1000 / 12 + 10))),
        conversation("arithmetic", "smartrouter",
                     ("square root of 144", value("12", 12)),
                     ("Multiply that by 3", value("36", 36))),
        conversation("arithmetic", "moe",
                     ("Where is Kyoto?", Expect("Kyoto in Japan", texts=("Japan",))),
                     ("6 times 7", value("42", 42))),
        conversation("arithmetic", "calculator", ("What's 2 to the power of 10?", value("1024", 1024))),
        conversation("arithmetic", "calculator",
                     ("Subtract 15 from 100", value("85", 85)),
                     ("What is seven times eight?", value("56", 56)),
                     ("Double it", value("112", 112)),
                     ("And divide that by 4", value("28", 28))),
        *on_agents(MATH_AGENTS, "arithmetic", ("What is 12 plus 30 minus 5?", value("37", 37))),
        conversation("arithmetic", "calculator",
                     ("What's 1/3 of 90?", value("30", 30)),
                     ("What is 10 divided by 0?", Declines("division by zero", ("zero",)))),
        *on_agents(MATH_AGENTS, "arithmetic",
                   ("What is 2+2?", value("4", 4)),
                   ("And times 10?", value("40", 40)),
                   ("What is the square root of that?", value("sqrt(40)", 40 ** 0.5))),
        conversation("arithmetic", "moe",
                     ("what is 3 to the power of 4", value("81", 81)),
                     ("minus 1", value("80", 80)),
                     ("divided by 8", value("10", 10))),
        conversation("arithmetic", "moe",
                     ("I'm going to Rome next week", Replies("noted", r"noted")),
                     ("what time is it there?", time_in("Rome")),
                     ("and how far is it from Paris?", distance("Rome", "Paris")),
                     ("thanks, what's 1200 divided by 3?", value("400", 400))),
        conversation("arithmetic", "moe",
                     ("What is 100 divided by 7?", value("14.2857", 100 / 7)),
                     ("Round that to 2 decimals", value("14.29", 14.29)),
                     ("Round it", value("14", 14))),
        conversation("arithmetic", "smartrouter",
                     ("How much is 144 divided by 12?", value("12", 12)),
                     ("What's 3 squared?", value("9", 9))),
    ]


RECALL_AGENTS = ("chitchat", "support", "moe", "smartrouter", "geo", "clock", "finance", "calculator")


def recall() -> list[Conversation]:
    return [
        *on_agents(RECALL_AGENTS, "recall",
                   ("Remember that my dog is called Rex", Expect("acknowledged", texts=("Rex",))),
                   ("What's my dog's name?", Expect("in the user's words", texts=("your dog is called Rex",)))),
        conversation("recall", "support",
                     ("My printer won't print", Declines("no invented fix", ("can't troubleshoot",))),
                     ("My ticket number is 7781", Expect("acknowledged", texts=("7781",))),
                     ("What was my ticket number again?", Expect("7781", texts=("ticket number is 7781",)))),
        *on_agents(RECALL_AGENTS, "recall",
                   ("My ticket number is 4512", Expect("acknowledged", texts=("4512",))),
                   ("What is my ticket number?", Expect("4512", texts=("ticket number is 4512",)))),
        *on_agents(("chitchat", "moe"), "recall",
                   ("My wife's name is Ana", Expect("acknowledged", texts=("Ana",))),
                   ("When is my birthday?", Expect("not told", texts=("don't know your birthday",))),
                   ("My birthday is on 3 March", Expect("acknowledged", texts=("3 March",))),
                   ("What is my wife's name?", Expect("her name", texts=("your wife's name is Ana",))),
                   ("When is my birthday?", Expect("the date", texts=("birthday is on 3 March",)))),
        *on_agents(("chitchat", "support", "moe"), "recall",
                   ("I live in Berlin", Expect("acknowledged", texts=("Berlin",))),
                   ("Thanks!", Replies("thanks", r"welcome")),
                   ("Where do I live?", Expect("in the user's words", texts=("you live in Berlin",)))),
        *on_agents(ORCHESTRATORS, "recall",
                   ("My name is Quixotl", Expect("greeted", texts=("Quixotl",))),
                   ("Where is Kyoto?", Expect("Kyoto in Japan", texts=("Japan",))),
                   ("What is my name?", Expect("the name", texts=("Quixotl",)))),
    ]


DECLINE_AGENTS = ("moe", "smartrouter", "chitchat", "clock")


def declines() -> list[Conversation]:
    return [
        *on_agents(DECLINE_AGENTS, "declines", ("What's the weather in Dublin?", Declines("weather", ("weather",)))),
        *on_agents(ORCHESTRATORS, "declines", ("Tell me the latest news", Declines("news", ("news",)))),
        *on_agents(ORCHESTRATORS, "declines",
                   ("Translate 'good morning' into French", Declines("translation", ("translat",)))),
        *on_agents(("moe", "smartrouter", "geo"), "declines",
                   ("How far is Paris from Gondor?", Declines("unknown place", ("Gondor",)))),
        conversation("declines", "finance", ("What is the stock price of Apple?", Declines("prices"))),
        *on_agents(ORCHESTRATORS, "declines",
                   ("Will it rain tomorrow in Paris?", Declines("weather", ("weather",))),
                   ("What's the exchange rate from dollars to euros?", Declines("rates")),
                   ("Who won the World Cup?", Declines("sports")),
                   ("Book me a flight to Paris", Declines("booking", ("booking",)))),
        conversation("declines", "moe", ("Where is Mordor?", Declines("unknown place", ("Mordor",)))),
        *on_agents(("moe", "smartrouter", "clock"), "declines",
                   ("Convert 25 degrees Celsius to Fahrenheit", Declines("unit conversion", ("conversion",)))),
        *on_agents(("moe", "geo"), "declines",
                   ("How far is New York from Los Angeles?", distance("New York", "Los Angeles")),
                   ("How about by car?", Declines("driving", ("travel",)))),
        *on_agents(ORCHESTRATORS, "declines",
                   ("What's the temperature in Tokyo?", Declines("weather", ("weather",))),
                   ("Who is the president of France?", Declines("people")),
                   ("What's the latest on the election?", Declines("news", ("news",)))),
    ]


SMALL_TALK_AGENTS = ("chitchat", "moe", "smartrouter", "support")


def small_talk() -> list[Conversation]:
    return [
        *on_agents(SMALL_TALK_AGENTS, "small talk",
                   ("how are you?", Replies("how are you", r"\b(?:well|fine|good)\b")),
                   ("Thanks!", Replies("thanks", r"welcome"))),
        *on_agents(("chitchat", "moe"), "small talk", ("Tell me a joke", Declines("joke", ("joke",)))),
        *on_agents(("chitchat", "moe", "smartrouter"), "small talk",
                   ("Quelle heure est-il à Paris ?", Replies("French", r"english"))),
        conversation("small talk", "moe", ("Wie spät ist es in Berlin?", Replies("German", r"english"))),
        *on_agents(("moe", "chitchat"), "small talk", ("Bonjour", Replies("French greeting", r"english"))),
        conversation("small talk", "chitchat", ("東京は今何時ですか？", Replies("Japanese", r"english"))),
        *on_agents(("chitchat", "moe"), "small talk",
                   ("What's up?", Replies("what's up", r"help")),
                   ("Who are you?", Replies("identity", r"offline model", max_chars=200))),
        conversation("small talk", "moe",
                     ("Where is Kyoto?", Expect("Kyoto in Japan", texts=("Japan",))),
                     ("Thanks!", Replies("thanks", r"welcome"))),
        *on_agents(ORCHESTRATORS, "small talk",
                   ("What time is it in Tokyo?", time_in("Tokyo")),
                   ("Good morning!", Replies("greeting", r"hello", max_chars=200)),
                   ("Nice, thank you", Replies("thanks", r"welcome")),
                   ("ok", Replies("acknowledged", r"great|anything else")),
                   ("¿Cómo estás?", Replies("Spanish", r"english")),
                   ("Good night", Replies("goodbye", r"goodbye|bye"))),
    ]


def qualifiers() -> list[Conversation]:
    return [
        *on_agents(("geo", "moe"), "qualifiers",
                   ("Where is Paris, Texas?", Expect("Paris in Texas", texts=("Texas",), forbidden=("France",)))),
        conversation("qualifiers", "geo",
                     ("Where is Portland, Oregon?", Expect("Portland in Oregon", texts=("Oregon",)))),
        conversation("qualifiers", "smartrouter",
                     ("Where is Dublin, Ohio?", Expect("Dublin in Ohio", texts=("Ohio",), forbidden=("Ireland",)))),
        conversation("qualifiers", "geo",
                     ("Where is Cambridge, Massachusetts?",
                      Expect("Cambridge in Massachusetts", texts=("Massachusetts",), forbidden=("England",)))),
        conversation("qualifiers", "geo",
                     ("How far is Paris, Texas from Dallas?", distance("Paris, Texas", "Dallas"))),
        *on_agents(("geo", "smartrouter"), "qualifiers",
                   ("How far is Paris from Paris, Texas?", distance("Paris", "Paris, Texas"))),
        conversation("qualifiers", "moe",
                     ("How far is London, Ontario from Toronto?", distance("London, Ontario", "Toronto")),
                     ("Where is Springfield, Illinois?", Expect("Springfield in Illinois", texts=("Illinois",)))),
        conversation("qualifiers", "moe",
                     ("What time is it in Portland, Maine?", time_in("Portland, Maine", forbid=("Oregon",)))),
    ]


def all_conversations() -> list[Conversation]:
    """Every scenario, in category order."""
    return [*references(), *stale_entities(), *multi_part(), *three_parts(), *time_conversions(), *loan_terms(),
            *savings(), *percentages(), *worded_arithmetic(), *recall(), *declines(), *small_talk(), *qualifiers()]
