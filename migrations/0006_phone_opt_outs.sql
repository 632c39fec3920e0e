-- Up Migration
-- Numbers that replied STOP, per channel. An opt-out belongs to the number, as carriers and Twilio see it, not to a
-- profile: a booking may carry a phone that is nobody's stored one, or one that several people share. START removes
-- the row. No foreign key to users: the number stays opted out whoever uses it next, erased people included.
CREATE TABLE phone_opt_outs (
  phone          text NOT NULL,                    -- E.164
  channel        text NOT NULL CHECK (channel IN ('sms', 'whatsapp')),
  opted_out_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (phone, channel)
);
