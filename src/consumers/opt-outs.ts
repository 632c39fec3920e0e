/**
 * Phone numbers that sent STOP. An opt-out belongs to the number, not to a profile: an SMS may go to the phone a
 * booking carries, which need not be the one the person keeps on file.
 */
export interface OptOuts {
  /** Any spelling of the number: `whatsapp:+91…`, `+91 98…`, a national form (the store normalises it). */
  has(phone: string): Promise<boolean>;
}
