/** asl-validator 4 ships no type declarations; this is the part the tests use. */
declare module 'asl-validator' {
  interface ValidationResult {
    isValid: boolean;
    errors: { message: string }[];
    errorsText: (separator?: string) => string;
  }
  interface ValidationOptions {
    checkArn?: boolean;
    checkPaths?: boolean;
  }
  export default function aslValidator(definition: unknown, options?: ValidationOptions): ValidationResult;
}
