export interface NativeAppOptions {
  /**
   * Callback URLs a native app may receive its one-time code on, compared exactly: custom
   * schemes (`com.example.app:/oauth`) and/or https Universal Link / App Link URLs.
   * @example ["com.example.app:/oauth", "https://auth.example.org/app/callback"]
   */
  callbacks: string[];
  /**
   * Lifetime of a one-time code in seconds; at most 60.
   * @default 60
   */
  codeTtlSeconds?: number;
  /**
   * Social provider /native/authorize uses when the app names none.
   * @default "google"
   */
  defaultProvider?: string;
  /**
   * Attempts per client IP on /native/exchange.
   * @default { window: 60, max: 10 }
   */
  exchangeRateLimit?: { window: number; max: number };
}

export type ResolvedNativeAppOptions = Required<NativeAppOptions>;
