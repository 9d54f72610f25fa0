import { CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { PhoneQuery } from './crm-provider';

/**
 * Turns a number as VoipNow sent it into the forms a CRM may hold it in. VoipNow writes
 * international numbers with the 00 prefix (0015551234567); libphonenumber only reads 00 as
 * "international" for countries whose exit code it is, so it is rewritten to + first.
 * Returns undefined for what is not an external phone number (empty, anonymous, an extension).
 */
export function phoneQuery(raw: string | undefined, defaultCountry?: string): PhoneQuery | undefined {
  if (!raw) return undefined;
  const trimmed = raw.trim();
  const digits = trimmed.replace(/\D/g, '');
  if (digits.length === 0 || isInternalNumber(trimmed)) return undefined;

  const candidate = trimmed.startsWith('00') ? `+${digits.slice(2)}` : trimmed;
  const parsed = parsePhoneNumberFromString(candidate, toCountry(defaultCountry));
  const forms: string[] = [];
  let e164: string | undefined;
  let national: string | undefined;
  if (parsed && parsed.isPossible()) {
    e164 = parsed.number;
    national = parsed.nationalNumber;
    forms.push(e164, national);
    // Numbers stored the national way, with the trunk prefix (UK 020..., DE 030...).
    const nationalDialled = parsed.formatNational().replace(/\D/g, '');
    forms.push(nationalDialled);
  }
  forms.push(digits);
  return { raw: trimmed, e164, national, digits, forms: [...new Set(forms.filter((f) => f.replace(/\D/g, '').length >= 3))] };
}

/** Extended (0003*210) and short (210) extension numbers are internal, not CRM contacts. */
export function isInternalNumber(value: string): boolean {
  return /^\d+\*\d+$/.test(value) || /^\d{1,5}$/.test(value);
}

function toCountry(value: string | undefined): CountryCode | undefined {
  return value && /^[A-Z]{2}$/.test(value.toUpperCase()) ? (value.toUpperCase() as CountryCode) : undefined;
}

/** +15551234567 → "+1 555 123 4567": how the agent's card and call subjects show a number. */
export function formatNumber(raw: string | undefined, defaultCountry?: string): string | undefined {
  if (!raw) return raw;
  const candidate = raw.startsWith('00') ? `+${raw.slice(2).replace(/\D/g, '')}` : raw;
  const parsed = parsePhoneNumberFromString(candidate, toCountry(defaultCountry));
  return parsed?.isPossible() ? parsed.formatInternational() : raw;
}
