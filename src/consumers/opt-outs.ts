/**
 * Phone numbers that sent STOP. An opt-out belongs to the number, not to a profile: an SMS may go to the phone a
 * booking carries, which need not be the one the person keeps on file.
 */
export interface OptOuts {
  has(phone: string): Promise<boolean>;
}
