import { Type, type Platform, type EntityProperty } from '@mikro-orm/core';
import { canonical, Dec } from '../domain/money.js';

/**
 * `numeric(36,18)` as a canonical decimal string. MikroORM's own DecimalType
 * compares values through `+value` (a float) for change detection, so two
 * amounts that differ past float precision would look equal and an update
 * could be skipped; this type compares them exactly.
 */
export class ExactDecimalType extends Type<string | null | undefined, string | null | undefined> {
  override convertToJSValue(value: string | null | undefined): string | null | undefined {
    return value == null ? value : canonical(String(value));
  }

  override compareValues(a: string | null | undefined, b: string | null | undefined): boolean {
    if (a == null || b == null) return a === b;
    return new Dec(a).eq(new Dec(b));
  }

  override getColumnType(_prop: EntityProperty, _platform: Platform): string {
    return 'numeric(36,18)';
  }

  override compareAsType(): string {
    return 'string';
  }
}
