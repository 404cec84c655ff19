/**
 * What an API key may do (contract: "API keys and roles"). `APP` keys are what apps embed:
 * everything not marked *operator*. `OPERATOR` keys may also resolve money, manage keys and
 * the other operator fields. Keys that existed before roles are `APP`.
 */
export enum ApiKeyRole {
  APP = 'APP',
  OPERATOR = 'OPERATOR',
}

/** The longest label a key may carry (the column is varchar(100)). */
export const API_KEY_LABEL_MAX = 100;
