module.exports = { displayName: 'storage-feature', preset: '../../../jest.preset.js', rootDir: __dirname };
