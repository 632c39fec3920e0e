import type { DisruptionType } from '../events/index.js';

/**
 * The words helpers put into messages, per language. Dates are spelt from these tables rather than from Intl so that
 * a Node build with reduced ICU data renders the same text as the full one. A locale without a table here (say a
 * future `ta` template) gets English helper output, the same fallback templates get.
 */
export interface LocaleText {
  weekdays: readonly string[];
  /** As dates show them: abbreviated in English ("Dec"), in full in Hindi, where full names are short. */
  months: readonly string[];
  vehicle: { flight: string; train: string; journey: string };
  disruptionTitle: Record<DisruptionType, string>;
  /** Predicates that follow the vehicle: "Flight W2121" + " is delayed by 90 minutes". */
  disruption: {
    delayedBy: (minutes: number) => string;
    delayed: string;
    cancelled: string;
    platform: (platform: string) => string;
    platformChanged: string;
    gate: (gate: string) => string;
    gateChanged: string;
    destination: (destination: string) => string;
    destinationUnknown: string;
  };
  /** Codes the operator sends in coachType, quotaType, paymentMethod and the like. */
  labels: Record<string, string>;
}

const en: LocaleText = {
  weekdays: ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'],
  months: ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'],
  vehicle: { flight: 'Flight', train: 'Train', journey: 'Your journey' },
  disruptionTitle: {
    FLIGHT_DELAY: 'Flight delayed',
    FLIGHT_CANCELLED: 'Flight cancelled',
    TRAIN_DELAY: 'Train running late',
    TRAIN_CANCELLED: 'Train cancelled',
    PLATFORM_CHANGE: 'Platform changed',
    GATE_CHANGE: 'Gate changed',
    DESTINATION_DISRUPTION: 'Disruption at your destination',
  },
  disruption: {
    delayedBy: (minutes) => `is delayed by ${minutes} ${minutes === 1 ? 'minute' : 'minutes'}`,
    delayed: 'is delayed',
    cancelled: 'has been cancelled',
    platform: (platform) => `will now depart from platform ${platform}`,
    platformChanged: 'will depart from a different platform',
    gate: (gate) => `will now board at gate ${gate}`,
    gateChanged: 'will board at a different gate',
    destination: (destination) => `is affected by a disruption at ${destination}`,
    destinationUnknown: 'is affected by a disruption at its destination',
  },
  labels: {
    AC_FIRST_CLASS: 'AC First Class',
    AC_2_TIER: 'AC 2 Tier',
    AC_3_TIER: 'AC 3 Tier',
    AC_3_ECONOMY: 'AC 3 Economy',
    SLEEPER: 'Sleeper',
    CHAIR_CAR: 'AC Chair Car',
    EXECUTIVE_CHAIR_CAR: 'Executive Chair Car',
    SECOND_SITTING: 'Second Sitting',
    ECONOMY: 'Economy',
    PREMIUM_ECONOMY: 'Premium Economy',
    BUSINESS: 'Business',
    GENERAL: 'General',
    TATKAL: 'Tatkal',
    PREMIUM_TATKAL: 'Premium Tatkal',
    LADIES: 'Ladies',
    SENIOR_CITIZEN: 'Senior Citizen',
    UPI: 'UPI',
    CARD: 'Card',
    CREDIT_CARD: 'Credit card',
    DEBIT_CARD: 'Debit card',
    NET_BANKING: 'Net banking',
    WALLET: 'Wallet',
  },
};

const hi: LocaleText = {
  weekdays: ['रवि', 'सोम', 'मंगल', 'बुध', 'गुरु', 'शुक्र', 'शनि'],
  months: ['जनवरी', 'फ़रवरी', 'मार्च', 'अप्रैल', 'मई', 'जून', 'जुलाई', 'अगस्त', 'सितंबर', 'अक्टूबर', 'नवंबर', 'दिसंबर'],
  vehicle: { flight: 'उड़ान', train: 'ट्रेन', journey: 'आपकी यात्रा' },
  disruptionTitle: {
    FLIGHT_DELAY: 'उड़ान में देरी',
    FLIGHT_CANCELLED: 'उड़ान रद्द',
    TRAIN_DELAY: 'ट्रेन देरी से',
    TRAIN_CANCELLED: 'ट्रेन रद्द',
    PLATFORM_CHANGE: 'प्लेटफ़ॉर्म बदला',
    GATE_CHANGE: 'गेट बदला',
    DESTINATION_DISRUPTION: 'गंतव्य पर व्यवधान',
  },
  disruption: {
    delayedBy: (minutes) => `${minutes} मिनट देरी से है`,
    delayed: 'देरी से है',
    cancelled: 'रद्द कर दी गई है',
    platform: (platform) => `अब प्लेटफ़ॉर्म ${platform} से रवाना होगी`,
    platformChanged: 'का प्लेटफ़ॉर्म बदल गया है',
    gate: (gate) => `की बोर्डिंग अब गेट ${gate} से होगी`,
    gateChanged: 'का गेट बदल गया है',
    destination: (destination) => `के गंतव्य ${destination} में व्यवधान है`,
    destinationUnknown: 'के गंतव्य में व्यवधान है',
  },
  labels: {
    AC_FIRST_CLASS: 'एसी फ़र्स्ट क्लास',
    AC_2_TIER: 'एसी 2 टियर',
    AC_3_TIER: 'एसी 3 टियर',
    AC_3_ECONOMY: 'एसी 3 इकॉनमी',
    SLEEPER: 'स्लीपर',
    CHAIR_CAR: 'एसी चेयर कार',
    EXECUTIVE_CHAIR_CAR: 'एग्ज़ीक्यूटिव चेयर कार',
    SECOND_SITTING: 'सेकंड सिटिंग',
    ECONOMY: 'इकॉनमी',
    PREMIUM_ECONOMY: 'प्रीमियम इकॉनमी',
    BUSINESS: 'बिज़नेस',
    GENERAL: 'सामान्य',
    TATKAL: 'तत्काल',
    PREMIUM_TATKAL: 'प्रीमियम तत्काल',
    LADIES: 'महिला',
    SENIOR_CITIZEN: 'वरिष्ठ नागरिक',
    UPI: 'UPI',
    CARD: 'कार्ड',
    CREDIT_CARD: 'क्रेडिट कार्ड',
    DEBIT_CARD: 'डेबिट कार्ड',
    NET_BANKING: 'नेट बैंकिंग',
    WALLET: 'वॉलेट',
  },
};

const TEXT: Record<string, LocaleText> = { en, hi };

/** The helper words for `locale` (a normalised template locale such as `hi`), English when there are none. */
export function localeText(locale: unknown): LocaleText {
  const language = typeof locale === 'string' ? locale.split('-')[0] : undefined;
  return (language && TEXT[language]) || en;
}
