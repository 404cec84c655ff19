import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import { DateTimeResolver } from 'graphql-scalars';
import { canonical, decimalProblem } from '../domain/money.js';

/**
 * `Decimal`: an exact decimal, a string on the wire (`"0.200234653675781"`).
 * JSON numbers are refused: by the time a client's JSON parser has read one, it may
 * already have rounded. Input format problems (too many decimals, not a number) are
 * left to the service's validation so the error names the field.
 */
export const DecimalScalar = new GraphQLScalarType<string, string>({
  name: 'Decimal',
  description: 'An exact decimal number, as a string: "25.00", "0.200234653675781". Never a JSON number.',
  serialize(value) {
    if (typeof value !== 'string') throw new GraphQLError('Decimal can only serialize strings');
    return decimalProblem(value) ? value : canonical(value);
  },
  // Inputs pass through as given: the service's validation refuses anything but a decimal
  // string (a JSON number included) as BAD_USER_INPUT naming the field. Nothing here reads
  // a number's value, so no float ever stands for an amount.
  parseValue(value) {
    return value as string;
  },
  parseLiteral(ast) {
    if (ast.kind === Kind.STRING) return ast.value;
    if (ast.kind === Kind.INT || ast.kind === Kind.FLOAT) return { notAString: ast.value } as unknown as string;
    throw new GraphQLError('Decimal must be a string literal such as "25.00"');
  },
});

export const DateTimeScalar = DateTimeResolver;
