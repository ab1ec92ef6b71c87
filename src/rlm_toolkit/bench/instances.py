"""OOLONG-style instances: general-knowledge questions whose class (the TREC coarse label) is
clear to a reader from what the question asks for, while the question never names its label.

The six labels are those of OOLONG's trec_coarse split. No instance contains a label word
("abbreviation", "entity", "human", "numeric", "value", "location", "description",
"abstract", "concept"); tests check this.
"""

from __future__ import annotations

import random

LABELS = (
    "abbreviation",
    "entity",
    "human being",
    "numeric value",
    "location",
    "description and abstract concept",
)

# Words a keyword matcher could use to read a label off an instance. Instances avoid them.
LABEL_WORDS = (
    "abbreviat", "entity", "entities", "human", "numeric", "value", "location", "locate",
    "description", "describe", "abstract", "concept", "number",
)

Template = tuple[str, dict[str, tuple[str, ...]]]

ACRONYMS = (
    "NASA", "UNESCO", "DNA", "RSVP", "HTML", "FIFA", "NATO", "LASER", "SCUBA", "RADAR",
    "UNICEF", "CPU", "GPS", "ATM", "PDF", "BBC", "VIP", "ASAP", "DIY", "AWOL", "OPEC", "USB",
    "LED", "MRI", "ISBN", "UFO", "CEO", "PIN", "NBA", "SONAR", "URL", "WiFi", "AIDS", "IMF",
)

TEMPLATES: dict[str, tuple[Template, ...]] = {
    "abbreviation": (
        ("What does {a} stand for?", {"a": ACRONYMS}),
        ("What do the letters {a} mean?", {"a": ACRONYMS}),
        ("What is {a} short for?", {"a": ACRONYMS}),
        ("What words are hidden behind the letters {a}?", {"a": ACRONYMS}),
        ("What is the full name of the organisation known as {a}?",
         {"a": ("NATO", "UNESCO", "UNICEF", "OPEC", "FIFA", "NASA", "IMF", "BBC", "NBA")}),
        ("How is '{w}' usually shortened in writing?",
         {"w": ("Doctor of Philosophy", "Mister", "Saint", "kilogram", "miles per hour",
                "for example", "and so on", "Avenue", "Mount", "September", "Professor",
                "Limited company", "post scriptum", "Bachelor of Arts", "versus")}),
        ("What do the initials {a} on a {t} mean?",
         {"a": ("ISBN", "PIN", "USB", "LED", "GPS"), "t": ("label", "sticker", "receipt")}),
    ),
    "entity": (
        ("What instrument did {p} play?",
         {"p": ("Louis Armstrong", "Jimi Hendrix", "Yo-Yo Ma", "Miles Davis", "Ravi Shankar",
                "Frederic Chopin", "Charlie Parker", "Jacqueline du Pre", "Ringo Starr")}),
        ("What language is spoken in {c}?",
         {"c": ("Brazil", "Iran", "Ethiopia", "Austria", "Suriname", "Mozambique", "Quebec",
                "Flanders", "Catalonia", "Laos", "Greenland", "Haiti")}),
        ("What currency is used in {c}?",
         {"c": ("Japan", "Switzerland", "Mexico", "India", "Poland", "Thailand", "Egypt",
                "South Africa", "Sweden", "Vietnam", "Kenya")}),
        ("What color is {t}?",
         {"t": ("a ripe lime", "a flamingo's plumage", "the cross on the Swiss flag",
                "a robin's egg", "the planet Mars in the night sky", "a school bus in Ohio",
                "the cap of a fly agaric mushroom", "chlorophyll")}),
        ("Which disease is caused by {c}?",
         {"c": ("a lack of vitamin C", "the bite of an infected mosquito",
                "a shortage of iodine", "the bacterium Mycobacterium tuberculosis",
                "a lack of vitamin D in children", "eating undercooked pork")}),
        ("What is the main ingredient of {d}?",
         {"d": ("guacamole", "hummus", "pesto", "tofu", "sauerkraut", "tahini", "polenta",
                "falafel", "marzipan", "baba ganoush")}),
        ("What breed of dog {t}?",
         {"t": ("was bred to herd sheep on the Scottish border", "is the smallest in the world",
                "pulled sleds across Siberia", "is famous for its spotted coat",
                "was used to rescue travellers in the Alps")}),
        ("Which sport is played at {v}?",
         {"v": ("Wimbledon", "Augusta National", "Lord's", "the Tour de France",
                "Twickenham", "the Stanley Cup finals", "Roland Garros")}),
        ("What novel opens with the line '{l}'?",
         {"l": ("Call me Ishmael", "It was the best of times, it was the worst of times",
                "All happy families are alike", "In a hole in the ground there lived a hobbit",
                "Last night I dreamt I went to Manderley")}),
        ("Which animal is the national symbol of {c}?",
         {"c": ("Australia", "Scotland", "China", "New Zealand", "Canada", "India")}),
    ),
    "human being": (
        ("Who invented the {i}?",
         {"i": ("telephone", "light bulb", "printing press", "World Wide Web", "steam engine",
                "telescope", "safety razor", "phonograph", "jet engine", "dynamite")}),
        ("Who wrote {b}?",
         {"b": ("Pride and Prejudice", "War and Peace", "Don Quixote", "The Odyssey",
                "One Hundred Years of Solitude", "Hamlet", "Moby-Dick", "The Divine Comedy",
                "Things Fall Apart", "Frankenstein", "The Tale of Genji")}),
        ("Who painted {w}?",
         {"w": ("the Mona Lisa", "The Starry Night", "Guernica", "The Night Watch",
                "The Birth of Venus", "The Persistence of Memory", "Girl with a Pearl Earring")}),
        ("Who was the first person to {f}?",
         {"f": ("walk on the Moon", "reach the South Pole", "climb Mount Everest",
                "swim across the English Channel", "fly solo across the Atlantic",
                "orbit the Earth", "sail around the world alone")}),
        ("Who composed {m}?",
         {"m": ("The Four Seasons", "the Moonlight Sonata", "The Magic Flute",
                "The Rite of Spring", "the Goldberg Variations", "Swan Lake", "Bolero")}),
        ("Who discovered {d}?",
         {"d": ("penicillin", "radium", "the electron", "the law of universal gravitation",
                "the structure of DNA", "the moons of Jupiter", "oxygen")}),
        ("Which team won the {y} football World Cup?",
         {"y": ("1966", "1970", "1986", "1998", "2006", "2010", "2014", "2018", "2022")}),
        ("Which company makes the {p}?",
         {"p": ("Walkman", "Model T", "iPhone", "Game Boy", "Beetle", "Kindle", "PlayStation")}),
        ("Who was the leader of {c} during {e}?",
         {"c": ("Britain", "the United States", "France", "India"),
          "e": ("the Second World War", "the Great Depression", "the 1960s")}),
    ),
    "numeric value": (
        ("How many {p} does {w} have?",
         {"p": ("legs", "hearts", "eyes", "wings"),
          "w": ("a spider", "an octopus", "a honeybee", "a dragonfly", "a scorpion")}),
        ("How many keys are on a standard piano?", {}),
        ("How many players does a {t} team have on the field?",
         {"t": ("soccer", "rugby union", "baseball", "field hockey", "cricket")}),
        ("How tall is {l}?",
         {"l": ("the Eiffel Tower", "Mount Kilimanjaro", "the Statue of Liberty",
                "the Burj Khalifa", "Big Ben's clock tower", "Angel Falls", "Mount Fuji")}),
        ("In what year did {e}?",
         {"e": ("the Berlin Wall fall", "the Titanic sink", "the first modern Olympics begin",
                "astronauts first land on the Moon", "the French Revolution start",
                "the printing press reach England", "the Panama Canal open")}),
        ("How far is {a} from {b}?",
         {"a": ("the Moon", "Paris", "Tokyo", "Mars", "Cape Town"),
          "b": ("the Earth", "Rome", "Sydney", "the Sun", "Cairo")}),
        ("How much does {a} weigh?",
         {"a": ("an adult blue whale", "an African elephant", "a newborn giraffe",
                "a hummingbird", "a gallon of water", "the Statue of Liberty")}),
        ("How long does it take {p}?",
         {"p": ("light from the Sun to reach the Earth", "an egg to hard-boil",
                "the Moon to orbit the Earth", "a tomato seed to sprout",
                "a letter to cross the Atlantic by sea")}),
        ("At what temperature does {s} boil?",
         {"s": ("water", "ethanol", "liquid nitrogen", "olive oil", "mercury")}),
        ("How many people live in {c}?",
         {"c": ("Tokyo", "Lagos", "Iceland", "Mexico City", "Luxembourg", "Mumbai", "Norway")}),
        ("How fast can {a} run?",
         {"a": ("a cheetah", "an ostrich", "a greyhound", "a grizzly bear", "a racehorse")}),
        ("How old was {p} when {e}?",
         {"p": ("Mozart", "Alexander the Great", "Joan of Arc", "Mary Shelley"),
          "e": ("they became famous", "they died", "their first work appeared")}),
    ),
    "location": (
        ("Where is {l}?",
         {"l": ("Machu Picchu", "Angkor Wat", "the Great Barrier Reef", "Petra", "Timbuktu",
                "Stonehenge", "the Taj Mahal", "Easter Island", "the Dead Sea", "Chichen Itza")}),
        ("What is the capital of {c}?",
         {"c": ("Australia", "Canada", "Kenya", "Peru", "Mongolia", "Norway", "Vietnam",
                "Morocco", "New Zealand", "Turkey", "Chile", "Hungary")}),
        ("Which river flows through {c}?",
         {"c": ("Cairo", "Budapest", "Baghdad", "London", "Vienna", "Kolkata", "Khartoum")}),
        ("On which continent is {c}?",
         {"c": ("Mozambique", "Uruguay", "Kazakhstan", "Slovenia",
                "Botswana", "Papua New Guinea", "Bolivia")}),
        ("Which city hosted the {y} Summer Olympics?",
         {"y": ("1896", "1936", "1964", "1988", "1992", "2000", "2008", "2016")}),
        ("Which mountain range separates {a}?",
         {"a": ("France from Spain", "Europe from Asia", "Italy from Switzerland",
                "Chile from Argentina", "India from Tibet")}),
        ("Where was {p} born?",
         {"p": ("Napoleon Bonaparte", "Frida Kahlo", "Nelson Mandela", "Marie Curie",
                "Wolfgang Amadeus Mozart", "Rabindranath Tagore", "Pablo Neruda")}),
        ("In which country can you visit {l}?",
         {"l": ("the Alhambra", "the fjords of Geiranger", "Ha Long Bay", "the Atacama Desert",
                "Uluru", "the Serengeti", "Cappadocia")}),
        ("Which ocean lies between {a}?",
         {"a": ("Africa and Australia", "Europe and North America", "Asia and the Americas")}),
        ("Where do {a} spend the winter?",
         {"a": ("monarch butterflies", "arctic terns", "humpback whales", "white storks")}),
    ),
    "description and abstract concept": (
        ("Why do {p}?",
         {"p": ("leaves change color in autumn", "cats purr", "onions make people cry",
                "we dream", "bread go stale", "stars twinkle", "ships float",
                "people yawn when others yawn", "bubbles form in boiling water")}),
        ("How does a {d} work?",
         {"d": ("refrigerator", "compass", "microwave oven", "vaccine", "parachute",
                "solar panel", "thermostat", "lock and key", "hot air balloon")}),
        ("What does it mean to {i}?",
         {"i": ("bite the bullet", "break the ice", "spill the beans", "burn the midnight oil",
                "let the cat out of the bag", "cut corners", "hit the road")}),
        ("What is the meaning of the word '{w}'?",
         {"w": ("serendipity", "ubiquitous", "ephemeral", "melancholy", "nostalgia",
                "irony", "resilience")}),
        ("How do you {t}?",
         {"t": ("tie a bowline knot", "make a sourdough starter", "remove a red wine stain",
                "grow tomatoes on a balcony", "change a flat tyre", "brew green tea properly")}),
        ("What is {a}?",
         {"a": ("photosynthesis", "inflation", "democracy", "the theory of relativity",
                "a haiku", "osmosis", "stoicism", "a sonnet", "game theory")}),
        ("What causes {e}?",
         {"e": ("thunder", "the tides", "earthquakes", "hiccups", "rainbows", "jet lag",
                "the northern lights")}),
        ("What is the difference between {a}?",
         {"a": ("weather and climate", "a virus and a bacterium", "a lake and a pond",
                "empathy and sympathy", "a crocodile and an alligator")}),
    ),
}


def instance(label: str, rng: random.Random) -> str:
    """One question whose class is `label`."""
    text, slots = rng.choice(TEMPLATES[label])
    return text.format(**{name: rng.choice(options) for name, options in slots.items()})


def all_instances(label: str) -> set[str]:
    """Every question the templates of `label` can produce (for tests)."""
    out: set[str] = set()
    for text, slots in TEMPLATES[label]:
        combos: list[dict[str, str]] = [{}]
        for name, options in slots.items():
            combos = [{**c, name: o} for c in combos for o in options]
        out.update(text.format(**c) for c in combos)
    return out
